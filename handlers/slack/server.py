"""HTTP serving of Slack: where Slack posts (`SLACK_EVENTS`, served by `handlers.slack.asgi`),
the signature check every request there passes first, and the plain routes every `serve`
has (/healthz, calendar feeds, downloads: `handlers.web.app`) with Slack's membership check."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine

from bot import logging_setup
from handlers.slack.calendar_members import slack_member_check
from handlers.slack.client import client_of as slack_client_of
from handlers.web.app import WSGIApp, database_state, web_app

__all__ = [
    "SLACK_EVENTS",
    "WSGIApp",
    "database_state",
    "refused_malformed",
    "retry_number",
    "signed_by_slack",
    "wsgi_app",
]

log = logging.getLogger("ciw.http")

SLACK_EVENTS = "/slack/events"  # where Slack posts commands, interactivity and events


def signed_by_slack(secret: str, timestamp: str, signature: str, body: bytes) -> bool:
    """Whether `body` carries Slack's valid, fresh signature (its X-Slack-Request-Timestamp
    and X-Slack-Signature headers); any malformed header (a timestamp that is not a number,
    say) is simply not signed."""
    if not (timestamp.isascii() and timestamp.isdigit()) or not signature.isascii():
        return False
    try:
        return SignatureVerifier(secret).is_valid(body, timestamp, signature)
    except (ValueError, TypeError, UnicodeError):
        return False


def retry_number(header: str | None) -> str | None:
    """Slack's X-Slack-Retry-Num as logged: a number, else nothing (the header is not
    covered by the signature)."""
    return None if header is None else logging_setup.shaped(header, logging_setup.NUMBER)


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


def wsgi_app(app: App, engine: Engine) -> WSGIApp:
    """The plain routes as a WSGI application (`GET /healthz` on `engine`, calendar feeds,
    downloads), a Slack person's feed served while Slack says they are a full member."""
    from handlers.slack.app import runtime_of  # the app module builds on this one's callers

    runtime = runtime_of(app)
    members = {"slack": slack_member_check(slack_client_of(runtime))}
    return web_app(runtime, members, engine=engine)
