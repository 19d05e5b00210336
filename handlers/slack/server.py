"""HTTP serving of Slack: Bolt behind a production WSGI server (waitress), with the routes
every `serve` has (/healthz, calendar feeds: `handlers.web`) in front of it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine

from handlers.slack.calendar_members import slack_member_check
from handlers.slack.platform import client_of as slack_client_of
from handlers.web import WSGIApp, database_state, web_app

__all__ = [
    "SLACK_EVENTS",
    "WSGIApp",
    "database_state",
    "refused_malformed",
    "serve",
    "signed_by_slack",
    "wsgi_app",
]

log = logging.getLogger("ciw.http")

SLACK_EVENTS = "/slack/events"  # where Slack posts commands, interactivity and events


def signed_by_slack(secret: str, timestamp: str, signature: str, body: bytes) -> bool:
    """Whether `body` carries Slack's valid, fresh signature (its X-Slack-Request-Timestamp
    and X-Slack-Signature headers); any malformed header (a timestamp that is not a number,
    say) is simply not signed. Both servers' Slack endpoints check with this."""
    if not (timestamp.isascii() and timestamp.isdigit()) or not signature.isascii():
        return False
    try:
        return SignatureVerifier(secret).is_valid(body, timestamp, signature)
    except (ValueError, TypeError, UnicodeError):
        return False


def refused_malformed(error: Exception) -> None:
    """Log a signed request Bolt could not take (answered 400): one warning line, with the
    traceback when Bolt tripped over what it read, without when the body itself could not
    be read (not UTF-8, not JSON, or JSON nested deeper than the parser goes, which raises
    RecursionError rather than ValueError). Both servers' Slack endpoints log with this."""
    unreadable = isinstance(error, (ValueError, RecursionError))
    log.warning(
        "malformed request refused",
        exc_info=not unreadable,
        extra={"outcome": "refused:unreadable" if unreadable else "refused:malformed"},
    )


def _read_body(environ: dict[str, Any]) -> bytes:
    import io

    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    # Bolt's adapter reads the body again: hand it the same bytes.
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def wsgi_app(app: App, engine: Engine, signing_secret: str | None = None) -> WSGIApp:
    """The WSGI application: `POST /slack/events` to Bolt, `GET /healthz` for probes,
    `GET /calendar/<token>.ics` for calendar feeds.

    With a signing secret, a request to /slack/events that Slack did not sign is answered
    401 here, before Bolt or any listener sees it: nothing is called, nothing answered to
    a response_url the request names.
    """
    from handlers.slack.app import runtime_of  # the app module builds on this one's callers

    slack = SlackRequestHandler(app, path=SLACK_EVENTS)
    runtime = runtime_of(app)
    if signing_secret is None:
        signing_secret = runtime.settings.slack_signing_secret
    secret = signing_secret

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        started = time.monotonic()
        captured: dict[str, str] = {}
        checked = secret and path == SLACK_EVENTS and environ.get("REQUEST_METHOD") == "POST"
        if checked and not signed_by_slack(
            secret,
            environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
            environ.get("HTTP_X_SLACK_SIGNATURE", ""),
            _read_body(environ),
        ):
            log.warning("unsigned request refused", extra={"outcome": "refused:unsigned"})
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b""]

        def recording_start_response(status: str, headers: list, *args: Any) -> Any:
            captured["status"] = status
            return start_response(status, headers, *args)

        try:
            result = slack(environ, recording_start_response)
        except Exception as error:  # noqa: BLE001 - logged by refused_malformed
            # Signed but malformed (an `event` that is not an object, a body that is not
            # JSON or nested too deep): Bolt's error handling itself trips on it, or its
            # parser. Nothing was done; 400, never a 500.
            refused_malformed(error)
            captured["status"] = "400"
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            result = [b"malformed request"]
        log.info(
            "request",
            extra={
                "path": path,
                "status": captured.get("status", "").split(" ")[0],
                "ms": round((time.monotonic() - started) * 1000, 1),
                "retry": environ.get("HTTP_X_SLACK_RETRY_NUM"),
            },
        )
        return result

    members = {"slack": slack_member_check(slack_client_of(runtime))}
    return web_app(runtime, members, engine=engine, fallback=application)


def serve(application: WSGIApp, host: str, port: int, threads: int = 8) -> None:
    """Serve until interrupted, on waitress (several requests at once)."""
    from waitress import serve as waitress_serve

    waitress_serve(application, host=host, port=port, threads=threads, ident="ciw-bot")
