"""`help [<subcommand>]`: every subcommand in a line with an example; `help <subcommand>` shows one in full.
Example: `/ciw help`, `/ciw help log-activity`
"""

from __future__ import annotations

import inspect
import re

from handlers.commands.base import Command, Reply

NAME = "help"
ROLE = None

# The end of a help text's first sentence: a full stop before a space or the line's end.
_SENTENCE_END = re.compile(r"\.(?=\s|$)")


def usage() -> list[str]:
    """Every subcommand's help text (its module docstring), in menu order."""
    from handlers.commands import MODULES  # the registry imports this module

    return [inspect.cleandoc(module.__doc__ or "") for module in MODULES]


def summary(text: str) -> str:
    """A help text in brief: its first sentence and its first example.

    The whole help of every subcommand runs past the ~4,000 characters Slack shows without
    collapsing a message, so the overview is brief and `help <subcommand>` has the rest.
    """
    lines = text.splitlines()
    first = lines[0] if lines else ""
    end = _SENTENCE_END.search(first, first.find("`:") + 1 if "`:" in first else 0)
    brief = first[: end.end()] if end else first
    example = next((line for line in lines if line.startswith("Example:")), "")
    return f"{brief}\n{example}" if example else brief


def _names(module) -> list[str]:
    return list(getattr(module, "NAMES", [module.NAME]))


def run(command: Command) -> Reply:
    """Every subcommand in brief, or one subcommand's whole help."""
    from handlers.commands import MODULES

    wanted = command.args.strip().lower().removeprefix("/ciw ").strip()
    if wanted:
        for module in MODULES:
            if wanted in _names(module):
                return Reply("help_one", {"section": inspect.cleandoc(module.__doc__ or "")})
        return Reply("help", {"sections": [summary(text) for text in usage()], "unknown": wanted})
    return Reply("help", {"sections": [summary(text) for text in usage()]})
