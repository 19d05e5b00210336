"""`issue <authority> [<year>] [<date>]`: issue the approved letter, dated the issue date. That is today, or an earlier day not before its approval; its final files, in English and, for a Welsh-language authority, in Welsh, go into the draft's review thread. Only once the current version is approved, and its Welsh text too where the authority corresponds in Welsh; issuing again says when it was issued (year defaults to the last review year that has ended).
Example: `/ciw issue wrexham 2019-20`
"""

from __future__ import annotations

from bot.records import authorities, grammar
from bot.records.dates import ReviewYear, letter_date
from bot.review import issuing
from db.models import Draft, Role
from handlers.commands.base import Command, Reply

NAME = "issue"
ROLE = Role.REVIEWER


def run(command: Command) -> Reply:
    """Issue the year's approved letter and post its final files in the review thread."""
    parsed = grammar.parse_issue(command.args)
    authority = authorities.resolve(command.session, parsed.authority)
    year = parsed.year or ReviewYear.last_ended(command.today)
    outcome = issuing.issue(
        command.runtime,
        command.session,
        authority=authority,
        year=year,
        channel_id=command.channel_id,
        actor=command.user_id,
        on=parsed.on,
    )
    issue = outcome.issue
    return Reply(
        "letter_issued" if outcome.made else "letter_already_issued",
        {
            "council": authority.english_name,
            "year": year,
            "on": letter_date(issue.issued_on),
            "by": issue.issued_by,
            "files": [file.name for file in issue.files],
            "channel": command.session.get_one(Draft, issue.draft_id).channel_id,
            "url": issue.published_url,
        },
    )
