"""`draft-letter <authority> [<year>]`: assemble the year's letter and post it here for review (year defaults to the last review year that has ended). Asked again for the same authority and year in the same channel, it posts a new version into the draft's thread.
Example: `/ciw draft-letter wrexham 2019-20`
"""

from __future__ import annotations

from bot.records import authorities, grammar
from bot.records.dates import ReviewYear
from bot.review import draft_versions
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "draft-letter"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """Assemble the draft letter and post it in this channel (or a new version in its thread)."""
    typed, year = grammar.parse_authority_and_year(command.args, NAME)
    authority = authorities.resolve(command.session, typed)
    year = year or ReviewYear.last_ended(command.today)
    command.surface.check_draft_destination(command)
    outcome = draft_versions.draft_letter(
        command.runtime,
        command.session,
        authority=authority,
        year=year,
        channel_id=command.channel_id,
        platform=command.platform,
        actor=command.user_id,
    )
    return Reply(
        "draft_posted",
        {
            "council": authority.english_name,
            "year": year,
            "version": outcome.version,
            "posted": outcome.posted,
        },
    )
