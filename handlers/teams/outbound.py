"""The process's way out to Teams: the sender's SDK App on its own event loop, and the
pacing every send and answer shares.

The base of the runtime's Teams platform (`handlers.teams.platform.TeamsPlatform`), apart
from it so the sender, the answers and the turns reach the loop and the pacer without
importing the platform that imports them.
"""

from __future__ import annotations

from typing import Any

from bot.runtime import PlatformMissing, Runtime
from handlers.teams.connector import Connector
from handlers.teams.pacing import Pacer

NAME = "teams"  # the runtime's name for Teams' platform


class Outbound:
    """The sender's App (`app`), the loop thread its coroutines run on (`connector`), and
    the per-conversation pacing (`pacer`)."""

    def __init__(self, app: Any, *, answering: Any = None) -> None:
        self.app = app
        self.connector = Connector(app, answering=answering)
        self.pacer = Pacer()


def outbound_of(runtime: Runtime) -> Outbound:
    """The runtime's way out to Teams."""
    platform = runtime.platforms.get(NAME)
    if not isinstance(platform, Outbound):
        raise PlatformMissing("Teams is not configured in this process (set TEAMS_APP_ID)")
    return platform
