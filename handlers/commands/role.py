"""`role [@user inspector|reviewer|admin|none]`: list who has which role, or grant one (admins only).
Example: `/ciw role @alex reviewer`
"""

from __future__ import annotations

from bot.errors import UserError
from handlers.commands.base import Command, Reply

NAME = "role"
ROLE = None


def run(command: Command) -> Reply:
    """List or grant roles."""
    raise UserError("not_yet", subcommand=NAME)
