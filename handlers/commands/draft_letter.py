"""`draft-letter <authority> [<year>]`: assemble the year's letter and post it here for review (year defaults to the last review year that has ended).
Example: `/ciw draft-letter wrexham 2019-20`
"""

from __future__ import annotations

from bot.errors import UserError
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "draft-letter"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """Assemble and post the draft letter."""
    raise UserError("not_yet", subcommand=NAME)
