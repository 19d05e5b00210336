"""Is a draft complete? What a CIW officer would have to add before the letter can go out.

A pure function of the assembled `Letter`: the warnings are data (a code and its values),
worded by `templates/messages/draft_warnings.j2` on the draft's review message. The draft
is posted all the same.
"""

from __future__ import annotations

from typing import Any

from bot.letters.assemble import Letter
from bot.render import clip

# How much of an area for improvement a warning quotes: enough to know it by.
FIRST_WORDS = 60


def completeness(letter: Letter) -> list[dict[str, Any]]:
    """What is missing from the letter, in the letter's order; an empty list when nothing is.

    Each warning is a JSON-ready dict with a `code`: `no_director`, `no_address`,
    `no_progress` (last year's area for improvement with no progress recorded: `ref`, its
    first `words`, `year`, `from_year`), `empty_principle` (with `principle`), `empty_plan`,
    `past_scheduled` (with `ref`, `line` and `start`, an ISO date).
    """
    warnings: list[dict[str, Any]] = []
    if not letter.addressee.director:
        warnings.append({"code": "no_director", "authority": letter.authority_slug})
    if not letter.addressee.address_lines:
        warnings.append({"code": "no_address", "authority": letter.authority_slug})
    for item in letter.unanswered:
        warnings.append(
            {
                "code": "no_progress",
                "ref": f"F{item.id}",
                "words": clip(item.text, FIRST_WORDS),
                "year": letter.year.label,
                "from_year": letter.year.previous().label,
                "authority": letter.authority_slug,
            }
        )
    for section in letter.principles:
        if not section.findings:
            warnings.append({"code": "empty_principle", "principle": section.principle.value})
    if not letter.plan and not letter.plan_notes:
        warnings.append({"code": "empty_plan", "year": letter.next_year.long_label})
    for item in letter.overdue:
        warnings.append(
            {
                "code": "past_scheduled",
                "ref": f"A{item.id}",
                "line": item.line,
                "start": item.start.isoformat(),
            }
        )
    return warnings
