"""`upcoming [<days>]`: scheduled activities in the next days (default 30), all authorities.
Example: `/ciw upcoming 14`
"""

from __future__ import annotations

from bot import activities, grammar
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "upcoming"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """List what is scheduled soon."""
    days = grammar.parse_days(command.args)
    found = activities.upcoming(command.session, command.today, days)
    return Reply("upcoming", {"days": days, "activities": found})
