"""Teams as the core sees it: the runtime's `Platform` for Teams (`bot.runtime.Platform`).

`attach(runtime)` builds the sender's own SDK `App` (`handlers.teams.app.create_teams_app`:
credentials, cloud, the bot's token) and registers a `TeamsPlatform` holding it. The App
is the sender's alone: its coroutines run on one event loop thread the platform owns
(`handlers.teams.connector.Connector`), since the SDK's HTTP client belongs to the loop it
first ran on; the App that serves `/api/messages` is another one, on the server's loop.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from sqlalchemy.orm import Session

from bot.runtime import PlatformMissing, Runtime
from handlers.teams import drafts, sender
from handlers.teams.app import create_teams_app
from handlers.teams.calendar_members import teams_member_check
from handlers.teams.outbound import NAME, Outbound


class TeamsPlatform(Outbound):
    """Teams' sender and drafts for the core, around the sender's SDK App."""

    name = NAME

    def __init__(self, app: Any, *, answering: Any = None) -> None:
        super().__init__(app, answering=answering)
        self._lock = threading.Lock()
        self._sender: Any = None

    def send_due(self, runtime: Runtime, now: dt.datetime, *, kinds: Any = None) -> Any:
        """Send Teams' rows due by `now` (`handlers.teams.sender.send_due`)."""
        return sender.send_due(runtime, now, kinds=kinds)

    def kick(self, runtime: Runtime) -> None:
        """Wake the process's Teams sender (a background thread, started on first use)."""
        with self._lock:
            if self._sender is None:
                self._sender = sender.sender(runtime)
                runtime.on_shutdown(self._sender.stop)
        self._sender.kick()

    def member_check(self, runtime: Runtime) -> Any:
        """Whether a calendar feed's owner may still read it (`handlers.web.feeds`)."""
        return teams_member_check(runtime)

    def draft_parts(self, runtime: Runtime, session: Session, draft: Any, version: Any) -> int:
        """How many Teams messages the version's text takes."""
        return drafts.parts(runtime, session, draft, version)

    def close(self) -> None:
        """Stop the sender's event loop and close its HTTP client."""
        self.connector.close()


def attach(runtime: Runtime, app: Any | None = None) -> TeamsPlatform:
    """Serve Teams from this runtime through `app` (by default the sender's own, made from
    the settings: TEAMS_APP_ID, TEAMS_APP_PASSWORD, TEAMS_TENANT_ID, TEAMS_CLOUD…). An App
    given here must not be used on any other event loop."""
    if app is None:
        runtime.settings.require("TEAMS_APP_ID")  # with it, the others are required
        app, _ = create_teams_app(runtime.settings)
    platform = TeamsPlatform(app, answering=runtime.answering)
    runtime.add_platform(platform)
    runtime.on_shutdown(platform.close)
    return platform


def platform_of(runtime: Runtime) -> TeamsPlatform:
    """The runtime's Teams platform."""
    platform = runtime.platforms.get(NAME)
    if not isinstance(platform, TeamsPlatform):
        raise PlatformMissing("Teams is not configured in this process (set TEAMS_APP_ID)")
    return platform
