"""`ciw-bot serve`: every configured platform in one process, on one port.

- Slack only: the WSGI application (`POST /slack/events`, `GET /healthz`, calendar feeds)
  on waitress, as before Teams.
- Teams, with or without Slack: uvicorn serving the Teams ASGI app (`POST /api/messages`),
  with the same WSGI application mounted behind it through a2wsgi, whose bounded thread
  pool runs it (docs/teams-design.md, "One process, one port"). With Slack, its
  `POST /slack/events` is an ASGI route of its own (`handlers.slack.asgi`: the signature
  checked on the event loop, Bolt's dispatch in one hop to a bounded pool); a2wsgi keeps
  the rest. Without Slack the WSGI application has only /healthz, the calendar feeds and
  the download links: /slack/events is 404.

Nothing configured is one line naming what to set (SettingsError).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.answering import Answering
from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    import uvicorn
    from slack_bolt import App

    from bot.runtime import Runtime
    from handlers.web import WSGIApp

log = logging.getLogger("ciw.serve")

NOTHING_TO_SERVE = (
    "nothing to serve: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (Slack), or TEAMS_APP_ID, "
    "TEAMS_APP_PASSWORD and TEAMS_TENANT_ID (Teams): see .env.example"
)
# Requests the WSGI side (Slack, /healthz, calendar feeds) serves at once, by default; on
# uvicorn, Slack's dispatches (their own pool) and the rest behind a2wsgi each this many.
THREADS = 8
# Time in-flight requests get to finish after SIGTERM (hosts usually kill at 30 s).
GRACEFUL_SHUTDOWN_S = 20
# Collections of the youngest generation between full ones (Python's default: 10).
FULL_COLLECTION_THRESHOLD = 100


def platforms(settings: Settings) -> tuple[bool, bool]:
    """`(slack, teams)`: what `serve` serves with these settings.

    Slack counts as configured once SLACK_BOT_TOKEN or SLACK_SIGNING_SECRET is set, and then
    needs both; Teams once TEAMS_APP_ID is set (Settings checked the rest). SettingsError,
    one line, when neither is.
    """
    slack = bool(settings.slack_bot_token or settings.slack_signing_secret)
    if slack:
        settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    if not (slack or settings.teams_enabled):
        raise SettingsError(NOTHING_TO_SERVE)
    return slack, settings.teams_enabled


@dataclass
class Composed:
    """What `serve` serves: the WSGI application, and the ASGI one in front when Teams is on."""

    runtime: Runtime
    wsgi: WSGIApp
    asgi: Any | None = None
    slack: bool = False
    teams: bool = False
    slack_app: App | None = None  # the Bolt app, when Slack is on

    @property
    def names(self) -> str:
        """The platforms served, e.g. "slack+teams"."""
        return "+".join(n for n, on in (("slack", self.slack), ("teams", self.teams)) if on)


def compose(settings: Settings, *, threads: int = THREADS, **options: Any) -> Composed:
    """Build the applications for the configured platforms. `options` (client, engine,
    clock) go to the app factory, for tests."""
    slack, teams = platforms(settings)
    app: App | None = None
    if slack:
        from handlers.slack.app import create_app, runtime_of
        from handlers.slack.server import wsgi_app

        app = create_app(settings, **options)
        runtime = runtime_of(app)
        wsgi = wsgi_app(app, runtime.engine)
    else:
        from bot.runtime import build_runtime
        from handlers.web import web_app

        options.pop("client", None)  # a Slack client, and Slack is off
        runtime = build_runtime(settings, **options)
        # No membership check for Slack: a Slack person's feed is not served without Slack.
        wsgi = web_app(runtime, {})
    if not teams:
        return Composed(runtime, wsgi, slack=slack, slack_app=app)
    from a2wsgi import WSGIMiddleware

    import handlers.teams
    from handlers.teams import platform as teams_platform

    teams_platform.attach(runtime)  # the Teams sender: reminders, drafts, proactive replies

    teams_app = handlers.teams.create_app(runtime, fallback=WSGIMiddleware(wsgi, workers=threads))
    if app is not None:
        from handlers.slack.asgi import SlackEvents
        from handlers.slack.server import SLACK_EVENTS

        # Slack's requests on a route of their own, ahead of the fallback (mounted at
        # startup): one hop to a thread each instead of a2wsgi's several.
        events = SlackEvents(app, settings.slack_signing_secret or "", threads=threads)
        runtime.on_shutdown(events.shutdown)
        teams_app.router.add_route(SLACK_EVENTS, events, methods=["POST"])
    asgi = Serving(teams_app, on_shutdown=runtime.shutdown, answering=runtime.answering)
    return Composed(runtime, wsgi, asgi, slack=slack, teams=True, slack_app=app)


class Serving:
    """The ASGI app as served: every request counted while it is answered (`answering`:
    the work after earlier answers waits for a pause), a log line per Teams request (path,
    status, ms; the WSGI side logs its own), and the runtime's work finished when the
    server shuts down."""

    def __init__(
        self,
        app: Any,
        *,
        on_shutdown: Callable[[], None] | None = None,
        logged: str = "",
        answering: Answering | None = None,
    ) -> None:
        from handlers.teams.app import MESSAGING_ENDPOINT

        self.app = app
        self.on_shutdown = on_shutdown
        self.logged = logged or MESSAGING_ENDPOINT
        self.answering = answering or Answering()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self.answering.request():
            await self._answer(scope, receive, send)

    async def _answer(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("path") != self.logged:
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status: list[int] = []

        async def recording_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            log.info(
                "request",
                extra={
                    "path": self.logged,
                    "status": str(status[0]) if status else "",
                    "ms": round((time.monotonic() - started) * 1000, 1),
                },
            )

    def _lifespan_send(self, send: Any) -> Callable[[dict[str, Any]], Any]:
        async def lifespan_send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete":
                tune_garbage_collector()  # the SDK's App is initialised by now
            if message["type"] == "lifespan.shutdown.complete" and self.on_shutdown is not None:
                # Listeners, the work after their acks and the sender finish first.
                await asyncio.to_thread(self.on_shutdown)
            await send(message)

        return lifespan_send


def tune_garbage_collector() -> None:
    """Keep the garbage collector's pauses short under load: what was built at start put
    out of its sight (`gc.freeze`), and full collections a tenth as often.

    Modules, templates, the SDKs' models and the database's metadata live as long as the
    process; left in the oldest generation, every full collection walks all of them
    (~200,000 objects with both platforms: ~140 ms measured), a pause for every request
    being answered. Frozen, a collection looks only at what requests made (garbage made
    before is collected first, so none of it is kept for good). Under a burst the work
    queued after its answers is long-lived too, and full collections of it came about once
    a second, ~80 ms each: with the oldest generation's threshold at 100 instead of 10 they
    come a tenth as often (`bench/bench_ack.py`: Teams p99 under the burst about halved).
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)
    log.info(
        "garbage collector tuned",
        extra={"frozen": gc.get_freeze_count(), "full_threshold": gc.get_threshold()[2]},
    )


class _Uncoloured(logging.Filter):
    """Drops uvicorn's `color_message` (its text again, with terminal escapes) from records."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


_UNCOLOURED = _Uncoloured()


def uvicorn_server(asgi: Any, host: str, port: int) -> uvicorn.Server:
    """uvicorn as `serve` runs it in production: one process (no workers, no reload),
    lifespan on, HTTP/1.1 only (no websockets), no access log (our own request lines
    instead), uvicorn's messages through our logging.

    Proxy headers are not trusted: nothing served reads the client's address or scheme
    (links are built from PUBLIC_URL), and waitress, the Slack-only server, trusts none either.
    """
    import uvicorn

    config = uvicorn.Config(
        asgi,
        host=host,
        port=port,
        lifespan="on",
        ws="none",
        reload=False,
        workers=1,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    for name in ("uvicorn", "uvicorn.error"):
        if _UNCOLOURED not in logging.getLogger(name).filters:
            logging.getLogger(name).addFilter(_UNCOLOURED)
    return uvicorn.Server(config)


def serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    threads: int = THREADS,
    with_clock: bool = False,
) -> int:
    """Serve every configured platform until stopped; the exit status."""
    platforms(settings)  # nothing configured stops here, before any database work
    composed = compose(settings, threads=threads)
    if with_clock:
        from bot import clock

        clock.start(composed.runtime, blocking=False)
    server = "uvicorn" if composed.asgi is not None else "waitress"
    log.info(
        "serving",
        extra={"host": host, "port": port, "platforms": composed.names, "server": server},
    )
    if composed.asgi is None:
        from handlers.slack.server import serve as waitress_serve

        tune_garbage_collector()
        waitress_serve(composed.wsgi, host, port, threads=threads)
    else:
        uvicorn_server(composed.asgi, host, port).run()
    return 0
