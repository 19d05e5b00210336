"""The activity form: opened by `/ciw log-activity` with no arguments."""

from __future__ import annotations

from slack_bolt import App

from bot.errors import UserError
from handlers.commands.base import Command


def open_form(command: Command) -> None:
    """Open the form in a modal."""
    raise UserError("usage", subcommand="log-activity")


def register(app: App) -> None:
    """Listen for the form's submission."""
