"""The app factory: a Bolt app wired to a database, templates and the listeners."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from slack_bolt import App, BoltResponse
from slack_bolt.error import BoltUnhandledRequestError
from slack_sdk import WebClient
from sqlalchemy import Engine

import handlers.slack
from bot.runtime import Runtime, system_clock
from bot.runtime import build_runtime as core_runtime
from bot.settings import Settings
from handlers.slack import failures, platform
from handlers.slack.client import client_of as slack_client_of
from handlers.slack.client import make_client

log = logging.getLogger("ciw.app")

_RUNTIMES: WeakKeyDictionary[App, Runtime] = WeakKeyDictionary()


def create_app(
    settings: Settings,
    *,
    client: WebClient | None = None,
    engine: Engine | None = None,
    clock: Callable[[], dt.datetime] = system_clock,
) -> App:
    """Build the Bolt app on this database (migrated if SQLite, else checked at head)."""
    runtime = build_runtime(settings, client=client, engine=engine, clock=clock)
    client = slack_client_of(runtime)
    if not settings.slack_team_id:
        log.warning("SLACK_TEAM_ID is not set: requests from any Slack workspace are served")
    app = App(
        # Bolt's own default (its caller's file name) costs an inspect.stack() per app.
        name=Path(__file__).name,
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        token_verification_enabled=False,
        listener_executor=runtime.listener_threads,
        request_verification_enabled=bool(settings.slack_signing_secret),
        ignoring_self_events_enabled=True,
        # Unmatched requests reach the error handler, which answers 200 so Slack never retries.
        raise_error_for_unhandled_request=True,
    )
    _RUNTIMES[app] = runtime

    @app.middleware
    def provide_runtime(context: Any, next: Callable[[], None]) -> None:
        context["ciw"] = runtime
        next()

    app.error(_error_handler(runtime))
    handlers.slack.register(app)
    return app


def build_runtime(
    settings: Settings,
    *,
    client: WebClient | None = None,
    engine: Engine | None = None,
    clock: Callable[[], dt.datetime] = system_clock,
) -> Runtime:
    """The runtime (`bot.runtime.build_runtime`) serving Slack through `client` (by default
    one made from the settings), without the Bolt app itself."""
    runtime = core_runtime(settings, engine=engine, clock=clock)
    platform.attach(runtime, client or make_client(settings))
    return runtime


def runtime_of(app: App) -> Runtime:
    """The runtime the app was built with."""
    return _RUNTIMES[app]


def _error_handler(runtime: Runtime) -> Callable[..., BoltResponse]:
    def handle_error(error: Exception, body: dict[str, Any], respond: Any) -> BoltResponse:
        """Log the failure with its traceback and tell the user politely; never a 500."""
        if isinstance(error, BoltUnhandledRequestError):
            # Nothing listens for this (an event we did not subscribe to handle, say): a quiet
            # 200, so Slack neither retries it nor shows the user an error.
            log.info("unhandled request", extra={"outcome": "unhandled"})
            return BoltResponse(status=200, body="")
        failures.report(runtime, error, body, respond)
        return BoltResponse(status=200, body="")

    return handle_error
