"""What a `/ciw` subcommand receives and returns, on any platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot.runtime import Runtime


class Surface(Protocol):
    """What the platform a command was typed on can do that the subcommands need."""

    platform: str  # "slack" or "teams": where the records it makes send their messages

    def open_form(self, command: Command, form: str) -> None:
        """Open the named form ("activity", "finding") for the person who typed."""

    def check_draft_destination(self, command: Command) -> None:
        """Raise UserError if a draft letter may not be posted where the command was typed."""


@dataclass
class Command:
    """One `/ciw` invocation, with the session it runs in."""

    runtime: Runtime
    session: Session
    user_id: str
    channel_id: str
    channel_name: str
    args: str
    surface: Surface

    @property
    def now(self):
        return self.runtime.now()

    @property
    def today(self):
        return self.runtime.today()

    @property
    def platform(self) -> str:
        return self.surface.platform


@dataclass
class Reply:
    """A subcommand's answer to the person who typed it (ephemeral, as every reply is):
    a named template under `templates/messages/` and its data."""

    template: str
    data: dict[str, Any] = field(default_factory=dict)
    # A listing comes in pages: which one to show, and the command that shows the others.
    page: int | None = None
    command: str = ""
