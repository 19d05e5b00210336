"""Global middleware: run before every listener, after the signature was verified.

(`handlers.slack.server` refuses what Slack did not sign, malformed headers included, with 401
before Bolt sees it.) In order:

1. a signed request accepted once is never accepted again, by any process: its
   signature is kept in the database (`idempotency_keys`) for longer than Bolt's
   5-minute timestamp window; Events API events are recognised by their event id instead;
2. requests from another workspace than `SLACK_TEAM_ID` are refused;
3. Slack guest accounts and people of other workspaces (Slack Connect) are refused;
4. an event already handled is acknowledged and dropped (its id in `processed_events`,
   written only once the steps before let it through); the database not answering gets
   503 so Slack sends the event again later. The work an event must not lose (a review
   comment) is done in the same transaction as that mark, before the ack (`in_event_ack`):
   both commit, or neither and Slack is asked to send the event again.

Every ack stays within Slack's 3 seconds whatever Slack does: `users.info` is asked with
a short budget and no retries (`LOOKUP_BUDGET`); an answer is remembered for five
minutes, and a remembered one still serves for a day when Slack cannot answer in time.
A command from someone not remembered goes straight on to its after-ack work, which asks
with retries before doing anything (`confirm_member`), so a command's ack never waits
for Slack. When nobody can say who someone is in time: an event is answered 503 so
Slack retries it; a button or form is refused with "try again in a minute".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.runtime import Runtime
from db.models import IdempotencyKey, ProcessedEvent
from handlers.slack import text as slack_text
from handlers.slack.client import client_of as slack_client_of

log = logging.getLogger("ciw.middleware")

# Bolt refuses a timestamp more than 5 minutes away; a signature seen once is refused for
# a little longer than that, so the same signed request can never be accepted twice.
REPLAY_WINDOW = 5 * 60 + 30
GUEST_CACHE_SECONDS = 5 * 60
STALE_SECONDS = 24 * 60 * 60
# users.info inside an ack: at most this long, no retries (the rest of 3 s is Bolt's).
LOOKUP_BUDGET = 0.5
UNVERIFIED = "_ciw_unverified"  # body key: the command's work confirms the user first
SIGNATURE = "_ciw_signature"  # body key: the command's work keeps its signature
SWEEP_EVERY = 60.0
# Database time a form's ack may wait for (Slack closes the request at 3 s).
ACK_DB_BUDGET_MS = 1800
REPLAY_DB_BUDGET_MS = 500  # of which the replay check may take this much
SQLITE_BUSY_MS = 30000  # db.session's usual busy timeout


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


@dataclass(frozen=True)
class Member:
    """What users.info says of someone, as far as access goes."""

    guest: bool
    team: str | None

    @classmethod
    def of(cls, user: dict[str, Any]) -> Member:
        """From users.info's `user` (guests are is_restricted / is_ultra_restricted)."""
        return cls(
            guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
            team=user.get("team_id"),
        )


class GuestCache:
    """Who is a guest or from another workspace (users.info), remembered briefly."""

    def __init__(
        self, ttl: float = GUEST_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self._known: dict[str, tuple[Member, float]] = {}
        self._lock = threading.Lock()

    def remembered(self, user_id: str, *, stale_ok: bool = False) -> Member | None:
        """The remembered answer: fresh only, or up to a day old with `stale_ok`."""
        with self._lock:
            known = self._known.get(user_id)
        if known is None:
            return None
        age = self.clock() - known[1]
        return known[0] if age < (STALE_SECONDS if stale_ok else self.ttl) else None

    def look_up(self, client: WebClient, user_id: str) -> Member:
        """Ask Slack (raises what the client raises) and remember the answer."""
        member = Member.of(client.users_info(user=user_id)["user"])
        with self._lock:
            self._known[user_id] = (member, self.clock())
        return member

    def is_guest(self, client: WebClient, user_id: str) -> bool:
        """True for single- and multi-channel guests."""
        member = self.remembered(user_id) or self.look_up(client, user_id)
        return member.guest

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


def team_of(body: dict[str, Any]) -> str | None:
    """The workspace a request comes from (commands, interactions, events)."""
    team = body.get("team_id")
    if isinstance(team, str):
        return team
    team = body.get("team")
    if isinstance(team, dict):
        return team.get("id")
    user = body.get("user")
    if isinstance(user, dict) and isinstance(user.get("team_id"), str):
        return user["team_id"]
    return None


def allowed(member: Member, team_id: str | None) -> bool:
    """A full member of the bot's own workspace (any workspace when none is configured)."""
    return not member.guest and (team_id is None or member.team in (None, team_id))


def confirm_member(runtime: Runtime, client: WebClient, body: dict[str, Any]) -> None:
    """After the ack: ask Slack again, with retries, about someone the ack could not check;
    UserError("guest") unless they are a full member of this workspace."""
    if not body.get(UNVERIFIED):
        return
    user_id = acting_user(body) or ""
    cache: GuestCache = runtime.__dict__.setdefault("_ciw_guests", GuestCache())
    try:
        member = cache.remembered(user_id) or cache.look_up(client, user_id)
    except (SlackApiError, SlackClientError, OSError):
        raise UserError("guest", unverified=True) from None
    if not allowed(member, runtime.settings.slack_team_id):
        log.info("guest refused", extra={"user": user_id, "outcome": "refused:guest"})
        raise UserError("guest", unverified=False)


# work(runtime, session, body): database work done with an event's "handled" mark
EventWork = Callable[[Runtime, Session, dict[str, Any]], None]


def in_event_ack(app: App, work: EventWork) -> None:
    """Run `work` for every event, in the transaction that marks it handled, before the
    ack: what it records and the mark commit together, and if it fails Slack is answered
    503 and sends the event again. Database work only (bounded by the ack's budget);
    Slack calls belong in the listener, after the ack."""
    app.__dict__.setdefault("_ciw_event_work", []).append(work)


def register(app: App) -> None:
    """Register the global middleware (replays, other workspaces, events, guests)."""
    signatures = ExpiringSet(REPLAY_WINDOW)  # when the database is away
    event_work: list[EventWork] = app.__dict__.setdefault("_ciw_event_work", [])
    guests = GuestCache()
    app._ciw_guest_cache = guests  # type: ignore[attr-defined]  # for tests to reset
    lookups: dict[str, WebClient] = {}
    sweep = {"next": 0.0}

    def quick_client(client: WebClient) -> WebClient:
        # The same token and API, a short timeout and no retries: never past the budget.
        if "client" not in lookups:
            lookups["client"] = WebClient(
                token=client.token,
                base_url=client.base_url,
                timeout=LOOKUP_BUDGET,  # type: ignore[arg-type]
                retry_handlers=[],
            )
        return lookups["client"]

    @app.middleware
    def refuse_replays(
        request: BoltRequest, body: dict[str, Any], context: Any, next: Callable[[], None]
    ) -> BoltResponse | None:
        """A signed request accepted once is never accepted again, by any process (401)."""
        signature = _header(request, "x-slack-signature")
        if signature is None:  # Socket Mode: the socket is the authentication
            next()
            return None
        if body.get("type") == "event_callback" and body.get("event_id"):
            # Events are recognised by their event id below, whether Slack retries one
            # (X-Slack-Retry-Num) or the same envelope arrives twice: acknowledged, done once.
            next()
            return None
        runtime: Runtime = context["ciw"]
        key = f"sig:{signature}"[:200]
        if body.get("command"):
            # A command does its work after the ack: its signature is kept in the database
            # by that work, in the same transaction (`claim_signature`), so the ack writes
            # nothing. This process's memory still refuses a replay here at once.
            if not signatures.add(key):
                log.warning("replayed request refused", extra={"outcome": "replay"})
                return BoltResponse(status=401, body="")
            body[SIGNATURE] = key
            next()
            return None
        if not _first_sighting(runtime, key, signatures, sweep):
            log.warning("replayed request refused", extra={"outcome": "replay"})
            return BoltResponse(status=401, body="")
        next()
        return None

    @app.middleware
    def refuse_other_workspaces(
        body: dict[str, Any], context: Any, next: Callable[[], None]
    ) -> BoltResponse | None:
        """Only SLACK_TEAM_ID's requests are served (when it is set)."""
        runtime: Runtime = context["ciw"]
        expected = runtime.settings.slack_team_id
        team = team_of(body)
        if expected is None or team is None or team == expected:
            next()
            return None
        log.warning("other workspace refused", extra={"team": team, "outcome": "refused:team"})
        return _refusal(runtime, body, unverified=False)

    @app.middleware
    def refuse_guests(
        body: dict[str, Any], context: Any, client: Any, next: Callable[[], None]
    ) -> BoltResponse | None:
        """Guests and people of other workspaces may use nothing; told politely, privately."""
        user_id = acting_user(body)
        if not user_id:
            next()
            return None
        runtime: Runtime = context["ciw"]
        runtime.__dict__.setdefault("_ciw_guests", guests)
        member = guests.remembered(user_id)
        if member is None and body.get("command"):
            # A command answers nothing in its ack: whoever it is, it is checked (with
            # retries) in its after-ack work, so the ack never waits for Slack.
            body[UNVERIFIED] = True
            next()
            return None
        if member is None:
            try:
                member = guests.look_up(quick_client(client), user_id)
            except (SlackApiError, SlackClientError, OSError) as error:
                member = guests.remembered(user_id, stale_ok=True)
                if member is None:
                    log.warning(
                        "users.info did not answer in time: %s",
                        type(error).__name__,
                        extra={"user": user_id, "outcome": "unverified"},
                    )
        if member is None:
            if body.get("type") == "event_callback":
                return BoltResponse(status=503, body="")  # Slack sends it again later
            return _refusal(runtime, body, unverified=True)
        if allowed(member, runtime.settings.slack_team_id):
            next()
            return None
        log.info("guest refused", extra={"user": user_id, "outcome": "refused:guest"})
        return _refusal(runtime, body, unverified=False)

    @app.middleware
    def drop_duplicate_events(
        body: dict[str, Any], context: Any, next: Callable[[], None]
    ) -> BoltResponse | None:
        """Each Events API event is handled once, whatever Slack retries or repeats.

        It runs after the guest check, so an event is marked only once the bot is ready to
        handle it: when Slack could not say who sent it, it is answered 503, not marked,
        and Slack's retry is handled.
        """
        if body.get("type") != "event_callback":
            next()
            return None
        event_id = body.get("event_id")
        runtime: Runtime = context["ciw"]
        try:
            with ack_transaction(runtime) as session:
                if isinstance(event_id, str) and event_id:
                    session.add(ProcessedEvent(event_id=event_id[:64], received_at=runtime.now()))
                    session.flush()  # a duplicate stops here, before any work
                for work in event_work:
                    work(runtime, session, body)
        except IntegrityError:
            log.info(
                "duplicate event dropped", extra={"event_id": event_id, "outcome": "duplicate"}
            )
            return BoltResponse(status=200, body="")
        except DBAPIError:
            # The database is away or failed mid-work: nothing of the event was kept, and
            # 503 makes Slack send it again later.
            log.warning("event deferred: database unavailable", extra={"outcome": "deferred"})
            return BoltResponse(status=503, body="")
        next()
        return None


def _first_sighting(
    runtime: Runtime, key: str, fallback: ExpiringSet, sweep: dict[str, float]
) -> bool:
    try:
        with ack_transaction(runtime, REPLAY_DB_BUDGET_MS) as session:
            if time.monotonic() >= sweep["next"]:
                sweep["next"] = time.monotonic() + SWEEP_EVERY
                session.execute(
                    delete(IdempotencyKey).where(
                        IdempotencyKey.seen_at
                        < dt.datetime.now(dt.UTC) - dt.timedelta(seconds=REPLAY_WINDOW * 2)
                    )
                )
            if session.scalar(select(IdempotencyKey.key).where(IdempotencyKey.key == key)):
                return False
            session.add(IdempotencyKey(key=key, seen_at=dt.datetime.now(dt.UTC)))
    except IntegrityError:
        return False  # another process took the very same request a moment ago
    except DBAPIError:
        # The database is away: this process's memory still refuses what it saw; the
        # request itself will find the database away and say so.
        log.warning("replay check in memory only: database unavailable")
        return fallback.add(key)
    fallback.add(key)
    return True


class Replayed(Exception):
    """A signed command already done (by this process or another): nothing is done again."""


def claim_signature(session: Session, body: dict[str, Any]) -> None:
    """Keep a command's signature in the caller's transaction (it commits with the
    command's work); Replayed if another process did this very request already."""
    key = body.get(SIGNATURE)
    if not key:
        return  # Socket Mode, or the shell: nothing signed
    if session.get(IdempotencyKey, key) is not None:
        raise Replayed(key)
    # Two processes at once: the second's commit fails on the key (IntegrityError); its
    # retry then finds it here.
    session.add(IdempotencyKey(key=key, seen_at=dt.datetime.now(dt.UTC)))
    session.flush()


def seen_before(runtime: Runtime, key: str) -> bool:
    """Record `key` (a form submission's view id and hash, say) as seen by every process;
    True if it had been seen already."""
    try:
        with runtime.transaction() as session:
            session.add(IdempotencyKey(key=key[:200], seen_at=dt.datetime.now(dt.UTC)))
    except IntegrityError:
        return True
    return False


@contextmanager
def ack_transaction(runtime: Runtime, budget_ms: int | None = None) -> Iterator[Session]:
    """A transaction whose database waits are bounded so an ack can still answer in time
    (a form's submission): a statement or lock wait past `ACK_DB_BUDGET_MS` fails it
    (PostgreSQL statement and lock timeouts; SQLite's busy timeout), it is rolled back,
    and the caller says so within Slack's 3 seconds. Nothing is half-done."""
    budget = int(budget_ms or ACK_DB_BUDGET_MS)
    session = runtime.sessions()
    sqlite = runtime.engine.dialect.name == "sqlite"
    try:
        connection = session.connection()
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {budget}")
        else:
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {budget}")
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {budget}")
        yield session
        if sqlite:
            # The pool's connections keep their setting: back to the usual wait.
            session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        session.commit()
    except BaseException:
        session.rollback()
        if sqlite:
            with suppress(DBAPIError):
                session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
                session.rollback()
        raise
    finally:
        session.close()


def first_submission(session: Session, body: dict[str, Any]) -> bool:
    """Record this form submission (its view id and hash) in the caller's transaction, so
    it commits with what the submission records; False if it was recorded before (Slack
    delivered it twice): the caller then records nothing and just closes the form."""
    view = body.get("view") or {}
    if not view.get("id"):
        return True
    key = f"view:{view.get('id')}:{view.get('hash') or ''}"[:200]
    if session.get(IdempotencyKey, key) is not None:
        log.info("duplicate form submission dropped", extra={"outcome": "duplicate"})
        return False
    # Two deliveries at the very same moment: the second's commit fails on the key
    # (IntegrityError), and nothing of it is recorded.
    session.add(IdempotencyKey(key=key, seen_at=dt.datetime.now(dt.UTC)))
    session.flush()
    return True


def _refusal(runtime: Runtime, body: dict[str, Any], *, unverified: bool) -> BoltResponse:
    text = slack_text.templates(runtime).message("errors/guest", unverified=unverified)
    if body.get("command"):
        return BoltResponse(
            status=200,
            body=json.dumps({"response_type": "ephemeral", "text": text}),
            headers={"content-type": ["application/json;charset=utf-8"]},
        )
    if body.get("type") == "view_submission" and _view_errors(body, text):
        return BoltResponse(
            status=200,
            body=json.dumps({"response_action": "errors", "errors": _view_errors(body, text)}),
            headers={"content-type": ["application/json;charset=utf-8"]},
        )
    if body.get("response_url"):
        # Buttons: the ephemeral answer goes to the response_url after the (empty) ack.
        url = body["response_url"]
        runtime.after_ack.submit(_post_ephemeral, runtime, url, text)
    return BoltResponse(status=200, body="")


def _header(request: BoltRequest, name: str) -> str | None:
    values = request.headers.get(name) or []
    return values[0] if values else None


def _post_ephemeral(runtime: Runtime, response_url: str, text: str) -> None:
    from slack_sdk.webhook import WebhookClient

    try:
        WebhookClient(
            response_url, timeout=5, retry_handlers=slack_client_of(runtime).retry_handlers
        ).send(text=text, response_type="ephemeral", replace_original=False)
    except (SlackClientError, OSError):
        log.warning("could not tell a refused user why", exc_info=True)


def _view_errors(body: dict[str, Any], text: str) -> dict[str, str]:
    # A modal shows errors against one of its input blocks; the first one will do.
    blocks = ((body.get("view") or {}).get("blocks")) or []
    first = next((b.get("block_id") for b in blocks if b.get("type") == "input"), None)
    return {first: text[:150]} if first else {}
