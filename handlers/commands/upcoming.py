"""`upcoming [<days>] [page <n>]`: scheduled activities in the next days (default 30), all authorities, a page at a time (each with a Next page button).
Example: `/ciw upcoming 14`, `/ciw upcoming 366 page 2`
"""

from __future__ import annotations

from bot.records import activities, grammar
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "upcoming"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """List what is scheduled soon."""
    args, page = grammar.split_page(command.args)
    days = grammar.parse_days(args)
    found = activities.upcoming(command.session, command.today, days)
    return Reply("upcoming", {"days": days, "activities": found}, page, f"/ciw upcoming {days}")
