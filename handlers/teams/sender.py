"""The Teams sender: takes Teams' messages out of the outbox (`bot.delivery.outbox`) and delivers them
as proactive messages through the Teams SDK.

For each row (`Delivery.platform == "teams"`): claim it and, in the same short
transaction, work out what to say from the records as they are now (a reminder through
`bot.reminders.planning.message_for`, a notice's neutral text, a draft's row through
`handlers.teams.drafts`, the overview's CSV as a link through `handlers.teams.overview`) and where (below); a row no longer owed is cancelled instead.
Then, outside any transaction, send each of its activities (a message too big for one
goes as several, each within Teams' size limit, `handlers.teams.cards`); mark it sent
with the activity id Teams returned where our claim still stands, or release it for a
later try, or give it up with the error kept.

Where. A row's `channel` is a Teams conversation id (a channel `19:…@thread.tacv2`; with
`thread_ts`, or a draft's root, its reply chain `<channel>;messageid=<root>`) or a
person's Entra object id, for their personal chat with the bot: the stored reference of
that chat (`TeamsConversation`, type "personal", `user_id`), else one created from the
member's Teams id (`TeamsMember.teams_id`) and stored. The service URL is always a
stored reference's (validated by the SDK when the activity that brought it arrived),
never anything else; no reference, or one of another tenant, gives the row up.

Who may read it. A reminder or announcement (records of an activity) goes only to people
of the bot's tenant who are not guests (`TeamsMember.user_role`) and hold a role once
roles are enforced, and to channels of the bot's tenant (a channel shared with another
tenant carries that tenant's id); to a personal chat named as the activity's channel,
never: its person is reminded in their own chat by id.

Exactly once, as far as Teams allows. Teams offers a bot no way to read a conversation
back, so the Slack sender's "look for the key before sending again" cannot be done. What
holds instead:
- A row marked sent is never sent again (claims and marks are conditional on the claim
  token; two senders never hold one row), and every activity carries the row's key in
  its `channelData.ciw_outbox` so a duplicate can always be told for what it is.
- Just before each call to Teams the row is stamped "uncertain: in flight" (its own
  short transaction, only while our claim stands); a certain outcome (accepted, or a
  refusal: 4xx, a connection that never opened, no token) replaces the stamp. A row
  whose claim lapsed without the stamp was never sent, and is sent normally.
- An update (PUT of an activity in place: the draft's card) is idempotent: sending it
  again after an uncertain outcome changes nothing more.
- A post whose outcome is unknown (the process died after the stamp; a read or write
  timeout; a connection lost after the request was written; a 5xx from the gateway) is
  sent again, once its retry is due: at-least-once in that case only, the alternative
  being a reminder or a part of a letter lost. It is logged as a warning and counted in
  `SendReport.resent`. A row of several activities records each accepted one in its
  payload (`teams_sent`), so only the uncertain one can be repeated.

Pacing. Per conversation (a channel with its reply chains is one thread to Teams),
below the per bot per thread limits of https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit
(send 7/1 s, 8/2 s, 60/30 s, 1800/h; create conversation the same): a sliding window per
conversation. A 429 holds the conversation and retries the row with exponential backoff
and jitter (no Retry-After is documented; one given is honoured); 412, 502, 504 and
other 5xx retry likewise; 400, 403, 404 and 413 are final (413 should never happen:
activities are measured before they go).

Synchronous outside: the SDK is asyncio, so its coroutines run on one event loop thread
owned by the platform (`Connector`); callers (the clock, the background `Sender`) block
on them. Nothing here runs while a request waits for its acknowledgement.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.access import roles
from bot.delivery import outbox
from bot.delivery.messages import Message
from bot.delivery.outbox import claim, due_ids, wall_clock
from bot.delivery.sending import Sender, SendReport
from bot.reminders import planning
from bot.review import draft_outbox, overview_file
from bot.runtime import Runtime
from db.models import Delivery, TeamsConversation, TeamsMember
from handlers.teams import cards, drafts, overview
from handlers.teams import text as teams_text
from handlers.teams.connector import Connector
from handlers.teams.outbound import outbound_of

log = logging.getLogger("ciw.teams.sender")

PLATFORM = "teams"
PRIVATE_KINDS = frozenset({planning.REMINDER, planning.ANNOUNCE, planning.POSTPONED})
IMMEDIATE_KINDS = (planning.ANNOUNCE,)
THREAD = ";messageid="
PERSONAL = "personal"
# Stamped on a row just before its call to Teams; replaced by whatever certain outcome follows.
IN_FLIGHT = outbox.UNCERTAIN + "in flight to Teams"
PROGRESS = "teams_sent"  # payload key: ids of a row's activities Teams accepted already

# Refusals a retry cannot cure: the row is given up (cancelled, error kept).
PERMANENT = frozenset({400, 403, 404, 413})
THROTTLED = "throttled"  # in last_error: a 429, retried soon
RATE_BACKOFF = 2.0  # seconds, doubled per attempt, with jitter, after a 429
RETRY_BACKOFF = (5, 30, 120, 600)  # seconds after other failures (then the last)
BACKOFF_CAP = 600.0
# A pass waits for a retry this close (a 429's backoff) rather than leave it to the next.
INLINE_WAIT = 10.0
INLINE_ATTEMPTS = 5

T = TypeVar("T")


class NoReference(Exception):
    """A destination the bot has no stored conversation reference for (or another tenant's)."""


@dataclass
class Destination:
    """Where a row goes: a conversation and the service URL of its stored reference."""

    conversation_id: str  # the conversation itself (a channel, a personal chat), no reply chain
    service_url: str
    tenant_id: str
    personal: bool = False
    # A person with no personal chat yet: created from their Teams id before sending.
    create_for: str | None = None  # Entra object id
    teams_id: str | None = None  # `29:…`


@dataclass
class Outgoing:
    """One row worked out for Teams (inside its claim's transaction)."""

    key: str
    action: str
    destination: Destination
    activities: list[dict[str, Any]] = field(default_factory=list)
    thread: str | None = None  # the root activity of the reply chain
    update_id: str | None = None  # an update's activity
    done: list[str] = field(default_factory=list)  # ids of activities already accepted

    def conversation(self) -> str:
        """The conversation id the call goes to (a channel's reply chain when threaded)."""
        base = self.destination.conversation_id
        if self.thread and not self.destination.personal and THREAD not in base:
            return f"{base}{THREAD}{self.thread}"
        return base


# -- one pass ----------------------------------------------------------------------------------
def send_due(
    runtime: Runtime, now: dt.datetime | None = None, *, kinds: Iterable[str] | None = None
) -> SendReport:
    """Send every Teams row due by `now` (default: the runtime's now), in order, paced per
    conversation; keeps going while rows become sendable (a reply once its root is sent, a
    429's retry due within a few seconds)."""
    now = now or runtime.now()
    kinds = list(kinds) if kinds is not None else None
    report = SendReport()
    seen: set[int] = set()
    while True:
        with runtime.transaction() as session:
            ids = due_ids(session, now, kinds=kinds, platform=PLATFORM)
        if not ids:
            wait = _soon_retry(runtime, now, kinds)
            if wait is None:
                break
            time.sleep(wait)
            continue
        for row_id in ids:
            seen.add(row_id)
            outcome = send_one(runtime, row_id, now, report)
            setattr(report, outcome, getattr(report, outcome) + 1)
    if seen:
        log.info(
            "teams deliveries",
            extra={
                "due": len(seen),
                "sent": report.sent,
                "resent": report.resent,
                "failed": report.failed,
                "dropped": report.dropped,
                "skipped": report.skipped,
            },
        )
    return report


def _soon_retry(runtime: Runtime, now: dt.datetime, kinds: Iterable[str] | None) -> float | None:
    # Only the platform's own "wait this long" (429); other failures back off past this pass.
    with runtime.transaction() as session:
        return outbox.soon_retry(
            session,
            now,
            platform=PLATFORM,
            marker=f"({THROTTLED})",
            max_attempts=INLINE_ATTEMPTS,
            within=INLINE_WAIT,
            kinds=kinds,
        )


def send_one(
    runtime: Runtime, row_id: int, now: dt.datetime, report: SendReport | None = None
) -> str:
    """Claim, deliver and mark one row: `sent`, `failed`, `dropped` or `skipped`."""
    token = uuid.uuid4().hex
    try:
        with runtime.transaction() as session:
            if session.get(Delivery, row_id) is None:
                return "skipped"
            if not claim(session, row_id, token):
                return "skipped"
            row = session.get(Delivery, row_id, populate_existing=True)
            assert row is not None
            uncertain = (row.last_error or "").startswith(outbox.UNCERTAIN)
            try:
                outgoing, dropped = render(runtime, session, row, now)
            except NoReference as refused:
                detail = f"not sent: {refused}"
                outbox.mark_failed(session, row_id, token, now=now, detail=detail, permanent=True)
                log.error("teams delivery given up: %s", detail, extra={"key": row.key})
                return "failed"
            if outgoing is None:
                outbox.cancel(session, row, now=now, why=dropped or "nothing to say")
                log.info("teams delivery dropped", extra={"key": row.key, "why": dropped})
                return "dropped"
    except Exception as error:
        # A row that cannot be rendered must not stop the rows behind it: it waits for a
        # retry (its claim is taken again to record why).
        log.exception("rendering a teams delivery failed", extra={"row": row_id})
        with runtime.transaction() as session:
            if claim(session, row_id, token):
                outbox.mark_failed(
                    session,
                    row_id,
                    token,
                    now=now,
                    detail=f"not rendered: {type(error).__name__}: {error}",
                    permanent=False,
                    retry_at=wall_clock() + dt.timedelta(seconds=backoff(None, 0)),
                )
        return "failed"
    platform = outbound_of(runtime)
    try:
        if outgoing.destination.create_for:
            _create_personal(runtime, platform, outgoing.destination, now)
        first = _deliver(runtime, platform, row_id, token, outgoing)
    except _ClaimLost:
        log.warning("teams delivery's claim lapsed before sending", extra={"key": outgoing.key})
        return "skipped"
    except Exception as error:  # noqa: BLE001 - every failure is classified and logged
        _failed(runtime, platform, row_id, token, now, outgoing, error)
        return "failed"
    if uncertain and outgoing.action != outbox.UPDATE:
        log.warning(
            "teams delivery sent again after an uncertain attempt (Teams cannot be asked "
            "whether it has it): it may be there twice, both with this key",
            extra={"key": outgoing.key},
        )
        if report is not None:
            report.resent += 1
    _mark(runtime, row_id, token, now, outgoing.key, first)
    return "sent"


class _ClaimLost(Exception):
    pass


def _stamp(runtime: Runtime, row_id: int, token: str, values: dict[str, Any]) -> None:
    # A write to our row while our claim stands; _ClaimLost when it no longer does.
    with runtime.transaction() as session:
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == row_id, Delivery.claim_token == token)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise _ClaimLost


def _deliver(runtime: Runtime, platform: Any, row_id: int, token: str, out: Outgoing) -> str:
    """Send the row's activities not yet accepted; the id of its first (or the update's)."""
    connector: Connector = platform.connector
    conversation = out.conversation()
    service_url = out.destination.service_url
    done = list(out.done)
    for index, made in enumerate(out.activities):
        if index < len(done):
            continue
        body = {**made, "channelData": {**made.get("channelData", {}), cards.KEY_PROPERTY: out.key}}
        size = connector.size(body, conversation)
        if size > cards.MESSAGE_LIMIT:
            raise _TooBig(f"activity of {size} bytes (UTF-16) over Teams' {cards.MESSAGE_LIMIT}")
        platform.pacer.wait_turn(out.destination.conversation_id)
        _stamp(runtime, row_id, token, {"last_error": IN_FLIGHT})
        if out.action == outbox.UPDATE:
            assert out.update_id is not None
            activity_id = connector.update(conversation, out.update_id, body, service_url)
        else:
            activity_id = connector.post(conversation, body, service_url)
        done.append(activity_id)
        if index < len(out.activities) - 1:
            # Accepted: never sent again, whatever happens to the rest of the row.
            with runtime.transaction() as session:
                row = session.get(Delivery, row_id)
                if row is not None and row.claim_token == token:
                    row.payload = {**(row.payload or {}), PROGRESS: list(done)}
                    row.last_error = None
    return done[0]


class _TooBig(Exception):
    pass


def _create_personal(
    runtime: Runtime, platform: Any, destination: Destination, now: dt.datetime
) -> None:
    # The member's 1:1 chat, created (or found: Teams answers the existing one) and stored
    # as a reference with the service URL it was created through.
    assert destination.teams_id and destination.create_for
    platform.pacer.wait_turn(f"create:{destination.teams_id}")
    conversation_id = platform.connector.create_personal(
        destination.teams_id, destination.tenant_id, destination.service_url
    )
    destination.conversation_id = conversation_id
    destination.personal = True
    try:
        with runtime.transaction() as session:
            if session.get(TeamsConversation, conversation_id) is None:
                session.add(
                    TeamsConversation(
                        id=conversation_id,
                        service_url=destination.service_url,
                        tenant_id=destination.tenant_id,
                        bot_id=f"28:{runtime.settings.teams_app_id}",
                        conversation_type=PERSONAL,
                        user_id=destination.create_for,
                        updated_at=now,
                    )
                )
    except IntegrityError:
        pass  # stored meanwhile by the inbound side or another sender: the same chat


def _mark(
    runtime: Runtime, row_id: int, token: str, now: dt.datetime, key: str, activity_id: str
) -> None:
    with runtime.transaction() as session:
        if not outbox.mark_sent(session, row_id, token, now=now, message_ts=activity_id):
            log.warning("teams delivery sent after its claim lapsed", extra={"key": key})
            return
        row = session.get(Delivery, row_id, populate_existing=True)
        assert row is not None
        after_sent(session, row, activity_id=activity_id, now=now)


def after_sent(session: Session, row: Delivery, *, activity_id: str, now: dt.datetime) -> None:
    """What follows a row that went out (in the transaction that marks it sent)."""
    if row.kind in drafts.KINDS:
        draft_outbox.after_sent(session, row, message_id=activity_id, now=now)
    else:
        planning.after_sent(session, row, now=now)


# -- what and where -----------------------------------------------------------------------------
def resolve(session: Session, runtime: Runtime, channel: str) -> Destination:
    """Where a row's `channel` is in Teams, from the stored references (NoReference if none)."""
    tenant = runtime.settings.teams_tenant_id
    if planning.is_person(channel):
        chat = session.scalars(
            select(TeamsConversation)
            .where(
                TeamsConversation.user_id == channel,
                TeamsConversation.conversation_type == PERSONAL,
                TeamsConversation.tenant_id == tenant,
            )
            .order_by(TeamsConversation.updated_at.desc())
        ).first()
        if chat is not None:
            return Destination(chat.id, chat.service_url, chat.tenant_id, personal=True)
        member = session.get(TeamsMember, channel)
        if member is None:
            raise NoReference(
                f"Teams user {channel} has no personal chat with the bot and is not a known "
                f"member (the bot was never installed for them, nor spoken to)"
            )
        if member.tenant_id != tenant:
            raise NoReference(f"Teams user {channel} belongs to another tenant")
        # The service URL of a reference stored for this tenant (every conversation of a
        # tenant is served by its region's Bot Connector).
        known = session.scalars(
            select(TeamsConversation)
            .where(TeamsConversation.tenant_id == tenant)
            .order_by(TeamsConversation.updated_at.desc())
        ).first()
        if known is None:
            raise NoReference(
                f"no Teams conversation of tenant {tenant} is stored yet, so no service URL is "
                f"known to create the personal chat of {channel}"
            )
        return Destination(
            "",
            known.service_url,
            tenant,
            personal=True,
            create_for=channel,
            teams_id=member.teams_id,
        )
    base = channel.partition(THREAD)[0]
    found = session.get(TeamsConversation, base)
    if found is None:
        raise NoReference(
            f"no Teams conversation reference for {base} (the bot was never installed there, "
            f"nor spoken to)"
        )
    if found.tenant_id != tenant:
        raise NoReference(f"conversation {base} belongs to another tenant ({found.tenant_id})")
    return Destination(
        channel, found.service_url, found.tenant_id, personal=found.conversation_type == PERSONAL
    )


def person_refusal(session: Session, runtime: Runtime, user_id: str) -> str | None:
    """Why a reminder or announcement about an activity may not go to this person: a guest
    (as Teams last described them), someone of another tenant, or, once roles are
    enforced, someone with no role. None when it may."""
    member = session.get(TeamsMember, user_id)
    if member is not None and member.user_role in {"guest", "anonymous"}:
        return "the recipient is a guest"
    if member is not None and member.tenant_id != runtime.settings.teams_tenant_id:
        return "the recipient belongs to another tenant"
    if roles.enforced(session) and roles.role_of(session, user_id, runtime.settings.admins) is None:
        return "the recipient has no role"
    return None


def render(
    runtime: Runtime, session: Session, row: Delivery, now: dt.datetime
) -> tuple[Outgoing | None, str | None]:
    """The Teams calls a row stands for, or (None, why it is no longer owed); NoReference
    when it has nowhere to go."""
    done = list((row.payload or {}).get(PROGRESS) or [])
    if row.kind in drafts.KINDS:
        where = resolve(session, runtime, row.channel)
        made = drafts.render(runtime, session, row, now=now)
        if made.dropped:
            return None, made.dropped
        action = outbox.UPDATE if made.update_id else outbox.POST
        return Outgoing(
            row.key, action, where, made.activities, made.thread, made.update_id, done
        ), None
    if row.kind == overview_file.KIND:
        message = overview.link_message(runtime, session, row, now=now)
    elif row.kind == outbox.NOTICE:
        message = Message(str((row.payload or {}).get("text") or ""))
    else:
        outcome = planning.message_for(runtime, session, row, now)
        if outcome.message is None:
            return None, outcome.dropped
        message = outcome.message
    private = row.kind in PRIVATE_KINDS
    if (
        private
        and planning.is_person(row.channel)
        and (why := person_refusal(session, runtime, row.channel))
    ):
        return None, why
    where = resolve(session, runtime, row.channel)
    if private and where.personal and not planning.is_person(row.channel):
        return None, "a personal chat: its person is reminded in their own chat"
    with teams_text.names(session):
        activities = cards.message_activities(message, key=row.key)
    return Outgoing(row.key, outbox.POST, where, activities, row.thread_ts, None, done), None


# -- failures -------------------------------------------------------------------------------------
def _status(error: Exception) -> int | None:
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code
    return None


def _teams_error(error: httpx.HTTPStatusError) -> str:
    try:
        body = error.response.json()
        inner = body.get("error") or {}
        return f"{inner.get('code')}: {inner.get('message')}"
    except (ValueError, AttributeError, json.JSONDecodeError):
        return error.response.text[:200]


def _retry_after(error: Exception) -> float | None:
    if not isinstance(error, httpx.HTTPStatusError):
        return None
    value = error.response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(error: Exception) -> tuple[bool, bool, str]:
    """(certain that Teams did not take it, permanent, detail) for a failed call."""
    from handlers.teams.token import BotTokenError

    status = _status(error)
    if status is not None:
        assert isinstance(error, httpx.HTTPStatusError)
        detail = f"HTTP {status} {_teams_error(error)}"
        if status == 429:
            detail += f" ({THROTTLED})"
        return status < 500, status in PERMANENT, detail
    if isinstance(error, _TooBig):
        return True, True, str(error)
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True, False, f"{type(error).__name__}: {error}"  # the request never left
    if isinstance(error, BotTokenError):
        return True, False, str(error)
    # Timeouts, a connection lost mid-call, anything unforeseen: Teams may have it.
    return False, False, f"{type(error).__name__}: {error}"


def backoff(status: int | None, tries: int) -> float:
    """Seconds before the next try: exponential with jitter (doubling from 2 s after a 429,
    5 s, 30 s, 2 min, 10 min otherwise), at most 10 minutes."""
    if status == 429:
        base = RATE_BACKOFF * 2**tries
    else:
        base = float(RETRY_BACKOFF[min(tries, len(RETRY_BACKOFF) - 1)])
    return min(BACKOFF_CAP, base) * random.uniform(0.5, 1.0)


def _failed(
    runtime: Runtime,
    platform: Any,
    row_id: int,
    token: str,
    now: dt.datetime,
    out: Outgoing,
    error: Exception,
) -> None:
    certain, permanent, detail = classify(error)
    if not certain:
        detail = outbox.UNCERTAIN + detail
    with runtime.transaction() as session:
        row = session.get(Delivery, row_id)
        tries = row.attempts if row is not None else 0
    status = _status(error)
    wait = _retry_after(error) or backoff(status, tries)
    if status == 429:
        platform.pacer.hold(out.destination.conversation_id or out.key, wait)
    with runtime.transaction() as session:
        outbox.mark_failed(
            session,
            row_id,
            token,
            now=now,
            detail=detail,
            permanent=permanent,
            retry_at=None if permanent else wall_clock() + dt.timedelta(seconds=wait),
        )
    extra = {"key": out.key}
    if permanent:
        log.error("teams delivery given up: %s", detail, extra=extra, exc_info=error)
    elif status == 429:
        log.warning("teams throttled, retried in %.1fs: %s", wait, detail, extra=extra)
    else:
        log.error(
            "teams delivery failed, retried in %.0fs: %s", wait, detail, extra=extra, exc_info=error
        )


# -- after a request: send what it queued, on the sender's own thread -----------------------------
def send_pending(runtime: Runtime) -> int:
    """Send the announcements that are due now, in this thread; how many were sent."""
    return send_due(runtime, kinds=IMMEDIATE_KINDS).sent


def sender(runtime: Runtime) -> Sender:
    """A background Teams sender for this runtime (`bot.delivery.sending.Sender`)."""
    return Sender(runtime, send_due, name="ciw-teams-sender", retry_after=RETRY_BACKOFF[0])
