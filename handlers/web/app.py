"""The routes `ciw-bot serve` has whatever platforms are configured, as one WSGI
application: `GET /healthz` (the database's state), `GET /calendar/<token>.ics` (calendar
feeds) and `GET /files/<token>` (a draft version's .docx). Every other path goes to the platform behind them (Slack's `/slack/events`), or is
404 when there is none."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import Engine

from bot import logging_setup
from bot.runtime import Runtime
from db import health
from handlers.web import downloads, feeds

log = logging.getLogger("ciw.http")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def database_state(engine: Engine) -> dict[str, Any]:
    """`{"database": "ok"}` when the database would take a write now, else what is wrong
    ("unavailable", "read-only", "full", "busy") and what said so (`db.health`)."""
    return health.database_state(engine)


def not_found(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """404 for a path nothing serves (Slack's /slack/events when Slack is off)."""
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"Not found\n"]


class _Members(Mapping[str, feeds.MemberCheck]):
    """The membership checks: the ones given, then those of the runtime's platforms, looked
    up when a feed is fetched (Teams' sender is attached after Slack's app is built)."""

    def __init__(self, runtime: Runtime, given: dict[str, feeds.MemberCheck]) -> None:
        self.runtime = runtime
        self.given = given

    def _all(self) -> dict[str, feeds.MemberCheck]:
        found = dict(self.given)
        for name, platform in self.runtime.platforms.items():
            offered = getattr(platform, "member_check", None)
            if name not in found and offered is not None:
                found[name] = offered(self.runtime)
        return found

    def __getitem__(self, name: str) -> feeds.MemberCheck:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def web_app(
    runtime: Runtime,
    members: Mapping[str, feeds.MemberCheck],
    *,
    engine: Engine | None = None,
    fallback: WSGIApp | None = None,
) -> WSGIApp:
    """`/healthz` and `/calendar/…` on `engine` (the runtime's); any other path to
    `fallback` (which logs its own requests), else 404.

    `members` holds membership checks by platform; a platform served by the runtime that
    offers `member_check()` (registered before or after this app is built) adds its own.
    A feed of a platform with no check is not served (404).
    """
    engine = engine or runtime.engine
    calendar = feeds.endpoint(runtime, _Members(runtime, dict(members)))
    files = downloads.endpoint(runtime)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # Counted while answered: the work after earlier answers waits for a pause.
        with runtime.answering.request():
            return route(environ, start_response)

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        started = time.monotonic()
        if path == "/healthz" and environ.get("REQUEST_METHOD") in {"GET", "HEAD"}:
            state = database_state(engine)
            status = "200 OK" if state["database"] == "ok" else "503 Service Unavailable"
            body = json.dumps({"status": "ok" if status.startswith("200") else "degraded", **state})
            start_response(status, [("Content-Type", "application/json")])
            return [body.encode()]
        if path.startswith(downloads.PREFIX):
            return files(environ, start_response)  # logs its own line, token redacted
        if path.startswith(feeds.PREFIX):
            return _calendar(calendar, environ, start_response, started)
        if fallback is not None:
            return fallback(environ, start_response)
        log.info(
            "request",
            extra={"path": logging_setup.UNKNOWN, "status": "404", "ms": _ms(started)},
        )
        return not_found(environ, start_response)

    return application


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _calendar(
    calendar: Callable[..., Iterable[bytes]],
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    started: float,
) -> Iterable[bytes]:
    captured: dict[str, str] = {}

    def calendar_start_response(status: str, headers: list, *args: Any) -> Any:
        captured["status"] = status
        return start_response(status, headers, *args)

    try:
        result = calendar(environ, calendar_start_response)
    except Exception:
        # Logged here, not by the server: its line would carry the token in the path.
        log.exception("calendar feed failed", extra={"path": feeds.REDACTED})
        captured["status"] = "500"
        start_response(
            "500 Internal Server Error",
            [("Content-Type", "text/plain; charset=utf-8")],
            sys.exc_info(),
        )
        result = [b"Internal error\n"]
    log.info(
        "request",
        extra={
            "path": feeds.REDACTED,
            "status": captured.get("status", "").split(" ")[0],
            "ms": _ms(started),
        },
    )
    return result
