"""`help`: what every subcommand does, with an example each.

Example: `/ciw help`
"""

from __future__ import annotations

import inspect

from handlers.commands.base import Command, Reply

NAME = "help"
ROLE = None


def usage() -> list[str]:
    """Every subcommand's help text (its module docstring), in menu order."""
    from handlers.commands import MODULES  # the registry imports this module

    return [inspect.cleandoc(module.__doc__ or "") for module in MODULES]


def run(command: Command) -> Reply:
    """Show the help of every subcommand."""
    return Reply("help", {"sections": usage()})
