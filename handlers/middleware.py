"""Global middleware: run before every listener, after Bolt has verified the signature.

In order: replayed commands and interactions are refused (401), Events API events already
handled (replayed or not) are acknowledged and dropped (Slack retries them with `X-Slack-Retry-Num`, and a payload may
arrive twice), and Slack guest accounts are refused everything with a polite answer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.runtime import Runtime
from db.models import ProcessedEvent

log = logging.getLogger("ciw.middleware")

# Bolt refuses a timestamp more than 5 minutes away; a signature seen once is refused for
# a little longer than that, so the same signed request can never be accepted twice.
REPLAY_WINDOW = 5 * 60 + 30
GUEST_CACHE_SECONDS = 5 * 60


class ExpiringSet:
    """Keys remembered for a fixed time, in memory, safe across threads."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def add(self, key: str) -> bool:
        """Remember `key`; False if it was already remembered (and not yet expired)."""
        now = self.clock()
        with self._lock:
            if now >= self._next_sweep:
                # Sweep at most once a second so memory stays bounded by the window's traffic.
                self._expiry = {k: t for k, t in self._expiry.items() if t > now}
                self._next_sweep = now + 1
            expiry = self._expiry.get(key)
            if expiry is not None and expiry > now:
                return False
            self._expiry[key] = now + self.ttl
            return True

    def __len__(self) -> int:
        return len(self._expiry)


class GuestCache:
    """Whether a Slack user is a guest (users.info), remembered briefly."""

    def __init__(
        self, ttl: float = GUEST_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self._known: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def is_guest(self, client: Any, user_id: str) -> bool:
        """True for single- and multi-channel guests (is_restricted / is_ultra_restricted)."""
        now = self.clock()
        with self._lock:
            known = self._known.get(user_id)
        if known is not None and known[1] > now:
            return known[0]
        user = client.users_info(user=user_id)["user"]
        guest = bool(user.get("is_restricted") or user.get("is_ultra_restricted"))
        with self._lock:
            self._known[user_id] = (guest, now + self.ttl)
        return guest

    def forget(self) -> None:
        """Drop everything remembered (tests, or after a role change upstream)."""
        with self._lock:
            self._known.clear()


def acting_user(body: dict[str, Any]) -> str | None:
    """The Slack user behind a command, interaction or event, if any."""
    if body.get("command"):
        return body.get("user_id")
    user = body.get("user")
    if isinstance(user, dict):
        return user.get("id")
    event = body.get("event")
    if isinstance(event, dict) and isinstance(event.get("user"), str):
        # A bot's own messages carry its bot id, not a member's; those are ignored upstream.
        return event["user"] if not event.get("bot_id") else None
    return None


def register(app: App) -> None:
    """Register the global middleware (replays refused, events de-duplicated, guests refused)."""
    signatures = ExpiringSet(REPLAY_WINDOW)
    guests = GuestCache()
    app._ciw_guest_cache = guests  # type: ignore[attr-defined]  # for tests to reset

    @app.middleware
    def refuse_replays(
        request: BoltRequest, body: dict[str, Any], next: Callable[[], None]
    ) -> BoltResponse | None:
        """A signed request accepted once is never accepted again (401)."""
        signature = _header(request, "x-slack-signature")
        if signature is None:  # Socket Mode: the socket is the authentication
            next()
            return None
        if body.get("type") == "event_callback" and body.get("event_id"):
            # Events are recognised by their event id below, whether Slack retries one
            # (X-Slack-Retry-Num) or the same envelope arrives twice: acknowledged, done once.
            next()
            return None
        if not signatures.add(signature):
            log.warning("replayed request refused", extra={"outcome": "replay"})
            return BoltResponse(status=401, body="")
        next()
        return None

    @app.middleware
    def drop_duplicate_events(
        body: dict[str, Any], context: Any, next: Callable[[], None]
    ) -> BoltResponse | None:
        """Each Events API event is handled once, whatever Slack retries or repeats."""
        event_id = body.get("event_id")
        if body.get("type") != "event_callback" or not isinstance(event_id, str) or not event_id:
            next()
            return None
        runtime: Runtime = context["ciw"]
        try:
            with runtime.transaction() as session:
                session.add(ProcessedEvent(event_id=event_id[:64], received_at=runtime.now()))
        except IntegrityError:
            log.info(
                "duplicate event dropped", extra={"event_id": event_id, "outcome": "duplicate"}
            )
            return BoltResponse(status=200, body="")
        except DBAPIError:
            # The database is away: 503 makes Slack send the event again later.
            log.warning("event deferred: database unavailable", extra={"outcome": "deferred"})
            return BoltResponse(status=503, body="")
        next()
        return None

    @app.middleware
    def refuse_guests(
        body: dict[str, Any], context: Any, client: Any, next: Callable[[], None]
    ) -> BoltResponse | None:
        """Guest accounts may use nothing; they are told so politely, privately."""
        user_id = acting_user(body)
        if not user_id:
            next()
            return None
        runtime: Runtime = context["ciw"]
        try:
            guest = guests.is_guest(client, user_id)
            unverified = False
        except SlackApiError:
            # Slack would not say who this is: refuse rather than show records to a guest.
            guest, unverified = True, True
        if not guest:
            next()
            return None
        log.info("guest refused", extra={"user": user_id, "outcome": "refused:guest"})
        text = runtime.templates.message("errors/guest", unverified=unverified)
        if body.get("command"):
            return BoltResponse(
                status=200,
                body=json.dumps({"response_type": "ephemeral", "text": text}),
                headers={"content-type": ["application/json;charset=utf-8"]},
            )
        if body.get("response_url"):
            # Buttons: the ephemeral answer goes to the response_url, the ack stays empty.
            _post_ephemeral(client, body["response_url"], text)
        elif body.get("type") == "view_submission" and _view_errors(body, text):
            return BoltResponse(
                status=200,
                body=json.dumps({"response_action": "errors", "errors": _view_errors(body, text)}),
                headers={"content-type": ["application/json;charset=utf-8"]},
            )
        return BoltResponse(status=200, body="")


def _header(request: BoltRequest, name: str) -> str | None:
    values = request.headers.get(name) or []
    return values[0] if values else None


def _post_ephemeral(client: Any, response_url: str, text: str) -> None:
    from slack_sdk.webhook import WebhookClient

    WebhookClient(response_url, timeout=5, retry_handlers=client.retry_handlers).send(
        text=text, response_type="ephemeral", replace_original=False
    )


def _view_errors(body: dict[str, Any], text: str) -> dict[str, str]:
    # A modal shows errors against one of its input blocks; the first one will do.
    blocks = ((body.get("view") or {}).get("blocks")) or []
    first = next((b.get("block_id") for b in blocks if b.get("type") == "input"), None)
    return {first: text[:150]} if first else {}
