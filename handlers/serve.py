"""`ciw-bot serve`: every configured platform in one process, on one port, on uvicorn.

One ASGI application whatever is configured (docs/teams-design.md, "One process, one
port"): Teams' `POST /api/messages` (the SDK's FastAPI app) when Teams is on, Slack's
`POST /slack/events` on a route of its own when Slack is on (`handlers.slack.asgi`: the
signature checked on the event loop, Bolt's dispatch in one hop to a bounded pool), and
the plain routes (/healthz, calendar feeds, download links) as a WSGI application behind
them through a2wsgi's bounded thread pool. `Serving`, in front of it all, holds every
request to the limits of `handlers.http_guard` (bodies over 1 MB refused before they are
read, slow bodies and heads cut off), counts it for `/metrics`, and serves `/metrics`.

uvicorn rather than a thread-per-connection server: an idle or slow connection costs the
event loop almost nothing, so no number of them keeps others from being served.

Nothing configured is one line naming what to set (SettingsError).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
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
    from handlers.web.app import WSGIApp
    from handlers.web.metrics import Metrics

log = logging.getLogger("ciw.serve")

METRICS_PATH = "/metrics"

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
    """What `serve` serves: the ASGI application, and the WSGI one of the plain routes
    behind it."""

    runtime: Runtime
    wsgi: WSGIApp
    asgi: Serving
    slack: bool = False
    teams: bool = False
    slack_app: App | None = None  # the Bolt app, when Slack is on

    @property
    def names(self) -> str:
        """The platforms served, e.g. "slack+teams"."""
        return "+".join(n for n, on in (("slack", self.slack), ("teams", self.teams)) if on)


def compose(settings: Settings, *, threads: int = THREADS, **options: Any) -> Composed:
    """Build the application for the configured platforms. `options` (client, engine,
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
        from handlers.web.app import web_app

        options.pop("client", None)  # a Slack client, and Slack is off
        runtime = build_runtime(settings, **options)
        # No membership check for Slack: a Slack person's feed is not served without Slack.
        wsgi = web_app(runtime, {})
    if teams:
        from handlers.teams import platform as teams_platform

        teams_platform.attach(runtime)  # the Teams sender: reminders, drafts, proactive replies
    asgi = serving(runtime, wsgi, slack_app=app, teams=teams, threads=threads)
    asgi.on_shutdown = runtime.shutdown
    return Composed(runtime, wsgi, asgi, slack=slack, teams=teams, slack_app=app)


def serving(
    runtime: Runtime,
    wsgi: WSGIApp,
    *,
    slack_app: App | None = None,
    teams: bool = False,
    threads: int = THREADS,
) -> Serving:
    """The one ASGI application: Teams' app (when `teams`, its platform attached to the
    runtime) or a plain router, Slack's route (with `slack_app`), `wsgi` behind them."""
    from a2wsgi import WSGIMiddleware

    fallback = WSGIMiddleware(wsgi, workers=threads)
    inner: Any
    if teams:
        import handlers.teams

        inner = handlers.teams.create_app(runtime, fallback=fallback)
        routes = Routes(fallback=inner)
    else:
        inner = routes = Routes(fallback=fallback)
    if slack_app is not None:
        from handlers.slack.asgi import SlackEvents
        from handlers.slack.server import SLACK_EVENTS

        # Slack's requests on a route of their own, ahead of the rest: one hop to a thread
        # each instead of a2wsgi's several.
        events = SlackEvents(
            slack_app, runtime.settings.slack_signing_secret or "", threads=threads
        )
        runtime.on_shutdown(events.shutdown)
        routes.add(SLACK_EVENTS, events)
    from handlers.web.metrics import Metrics

    logged = None
    if teams:
        from handlers.teams.app import MESSAGING_ENDPOINT

        logged = MESSAGING_ENDPOINT  # the Teams app logs no request line of its own
    return Serving(routes, answering=runtime.answering, metrics=Metrics(runtime), logged=logged)


class Routes:
    """A plain ASGI router: exact paths (with their methods) to their endpoints, every
    other request (and the lifespan) to `fallback`, or answered here when the fallback has
    no lifespan."""

    def __init__(self, fallback: Any, *, lifespan: bool | None = None) -> None:
        self.fallback = fallback
        self.endpoints: dict[tuple[str, str], Any] = {}
        # a2wsgi's bridge knows no lifespan; the Teams FastAPI app does.
        self.lifespan = lifespan if lifespan is not None else hasattr(fallback, "router")

    def add(self, path: str, endpoint: Any, methods: tuple[str, ...] = ("POST",)) -> None:
        """Serve `methods` on `path` with `endpoint` (an ASGI app)."""
        for method in methods:
            self.endpoints[(method, path)] = endpoint

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" and not self.lifespan:
            await _lifespan(receive, send)
            return
        endpoint = None
        if scope["type"] == "http":
            endpoint = self.endpoints.get((scope.get("method", ""), scope.get("path", "")))
        await (endpoint or self.fallback)(scope, receive, send)


async def _lifespan(receive: Any, send: Any) -> None:
    """Answer the server's lifespan messages for an app with nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class Serving:
    """The ASGI app as served: every request held to `handlers.http_guard`'s limits,
    counted while it is answered (`answering`: the work after earlier answers waits for a
    pause) and for `/metrics`, which it serves; a log line per Teams request (path,
    status, ms; the other routes log their own); the runtime's work finished when the
    server shuts down."""

    def __init__(
        self,
        app: Any,
        *,
        on_shutdown: Callable[[], None] | None = None,
        logged: str | None = None,
        answering: Answering | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        from handlers.http_guard import limited

        self.app = app
        self.guarded = limited(app)
        self.on_shutdown = on_shutdown
        self.logged = logged
        self.answering = answering or Answering()
        self.metrics = metrics
        self.tune_gc = False  # `serve` sets it: tune the collector once started

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
        started = time.monotonic()
        status: list[int] = []

        path = scope.get("path", "")

        async def recording_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                if self.metrics is not None:
                    # Counted before the client can see the answer; the time to its head.
                    self.metrics.observe(path, message["status"], time.monotonic() - started)
            await send(message)

        try:
            if path == METRICS_PATH:
                await self._metrics(scope, recording_send)
            else:
                await self.guarded(scope, receive, recording_send)
        finally:
            seconds = time.monotonic() - started
            if path == self.logged:
                log.info(
                    "request",
                    extra={
                        "path": self.logged,
                        "status": str(status[0]) if status else "",
                        "ms": round(seconds * 1000, 1),
                    },
                )

    async def _metrics(self, scope: dict[str, Any], send: Any) -> None:
        """`GET /metrics` for a request bearing the token; 404 for anything else."""
        authorization = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), ""
        )
        allowed = self.metrics is not None and self.metrics.allowed(authorization)
        if not allowed or scope.get("method") not in {"GET", "HEAD"}:
            status, body, content_type = 404, b"Not found\n", "text/plain; charset=utf-8"
        else:
            assert self.metrics is not None
            # The outbox is read from the database: off the event loop.
            body, content_type = await asyncio.to_thread(self.metrics.exposition)
            status = 200
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _lifespan_send(self, send: Any) -> Callable[[dict[str, Any]], Any]:
        async def lifespan_send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete" and self.tune_gc:
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
    lifespan on, HTTP/1.1 only (no websockets) on h11 with a deadline for each request's
    head (`handlers.http_guard.GuardedH11Protocol`), no access log (our own request lines
    instead), uvicorn's messages through our logging.

    Proxy headers are not trusted: nothing served reads the client's address or scheme
    (links are built from PUBLIC_URL).
    """
    import uvicorn

    from handlers.http_guard import GuardedH11Protocol

    config = uvicorn.Config(
        asgi,
        host=host,
        port=port,
        lifespan="on",
        ws="none",
        http=GuardedH11Protocol,
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


class Served:
    """An ASGI app served by uvicorn as `serve` configures it (`uvicorn_server`), on a free
    port of 127.0.0.1, in a thread: for tests and benchmarks."""

    def __init__(self, asgi: Any) -> None:
        import socket

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn_server(asgi, "127.0.0.1", self.port)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self, timeout: float = 10.0) -> Served:
        """Start serving; RuntimeError when uvicorn has not started within `timeout` s."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop as `serve` stops on SIGTERM: requests in flight finish, then the lifespan."""
        self.server.should_exit = True
        self._thread.join(GRACEFUL_SHUTDOWN_S + 5)
        self._socket.close()


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
        from bot.reminders import clock

        clock.start(composed.runtime, blocking=False)
    log.info(
        "serving",
        extra={"host": host, "port": port, "platforms": composed.names, "server": "uvicorn"},
    )
    composed.asgi.tune_gc = True
    uvicorn_server(composed.asgi, host, port).run()
    return 0
