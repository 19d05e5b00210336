"""`note <authority> [<year>] intro|plan|well-being|people|prevention|partnerships <text>`: a paragraph of the letter that is no record (the introduction's context, the plan's national work, a principle's wider remarks). It is printed after that section's records, in the order notes were recorded; `edit N<id> <text>` and `remove N<id>` correct it (year defaults to the current review year).
Example: `/ciw note wrexham 2019-20 intro We acknowledge, due to the unprecedented circumstances relating to COVID-19, we were unable to complete the annual performance review meeting.`
"""

from __future__ import annotations

from bot.records import authorities, grammar, notes
from bot.records.dates import ReviewYear
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "note"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """Record a note for one section of the letter."""
    parsed = grammar.parse_note(command.args)
    authority = authorities.resolve(command.session, parsed.authority)
    year = parsed.year or ReviewYear.of(command.today)
    note = notes.add_note(
        command.session,
        authority=authority,
        year=year,
        section=parsed.section,
        text=parsed.text,
        actor=command.user_id,
        now=command.now,
    )
    return Reply("note_added", {"note": note, "year": year})
