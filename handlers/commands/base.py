"""What a `/ciw` subcommand receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.runtime import Runtime


@dataclass
class Command:
    """One `/ciw` invocation, with the session it runs in."""

    runtime: Runtime
    session: Session
    client: WebClient
    user_id: str
    channel_id: str
    channel_name: str
    args: str
    trigger_id: str | None = None

    @property
    def now(self):
        return self.runtime.now()

    @property
    def today(self):
        return self.runtime.today()


@dataclass
class Reply:
    """A subcommand's answer to the person who typed it (ephemeral, as every reply is):
    a named template under `templates/messages/` and its data."""

    template: str
    data: dict[str, Any] = field(default_factory=dict)
    # A listing comes in pages: which one to show, and the command that shows the others.
    page: int | None = None
    command: str = ""
