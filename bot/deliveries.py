"""The Delivery ledger: messages owed to Slack, each sent exactly once.

Sending one delivery takes three short transactions:

1. claim it with one conditional UPDATE (`… WHERE id = :id AND sent_at IS NULL AND
   cancelled_at IS NULL AND (claimed_at IS NULL OR claimed_at < now - lease)`; on
   PostgreSQL the row is picked `FOR UPDATE SKIP LOCKED` so a second clock skips it
   instead of waiting): one row changed means it is ours, none means another clock has
   it or it went already. What to say is worked out in the same transaction, from the
   records as they are now; one no longer owed (its activity moved meanwhile) is
   cancelled there instead;
2. call Slack (the WebClient retries 429 after Retry-After, 5xx and connection errors);
3. mark it sent, with Slack's ts, only where our claim still stands; or, when Slack did
   not take it, clear the claim, count the attempt, keep the error and leave it due for
   the next tick. Errors that retrying cannot cure (channel gone, user deactivated) stop
   it: it is cancelled with the error kept, and logged as an error.

Nothing is marked sent that Slack did not accept. A process that dies between 1 and 3
leaves a claim that lapses after `LEASE`, and the delivery is then tried again. Claims
are timed by the wall clock, not by the tick's `now`: a lease is about how long a live
sender may take, and `clock --once --now …` may name any moment.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot import reminders
from bot.runtime import Runtime
from db.models import Delivery

log = logging.getLogger("ciw.deliveries")

LEASE = dt.timedelta(minutes=10)
# Slack errors a retry cannot cure: the delivery is given up (cancelled, error kept).
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "user_not_found",
        "account_inactive",
        "user_disabled",
        "cannot_dm_bot",
        "invalid_arguments",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "thread_not_found",
    }
)
# What `send_pending` (run after each command) sends: only the announcements it just made.
IMMEDIATE_KINDS = (reminders.ANNOUNCE,)


@dataclass
class SendReport:
    """What one pass over the ledger did."""

    sent: int = 0
    failed: int = 0
    dropped: int = 0
    skipped: int = 0  # claimed by someone else (another clock) meanwhile


def wall_clock() -> dt.datetime:
    """The real time, UTC: what claims and their lease are measured in."""
    return dt.datetime.now(dt.UTC)


def _available(claimed_now: dt.datetime) -> list:
    return [
        Delivery.sent_at.is_(None),
        Delivery.cancelled_at.is_(None),
        or_(Delivery.claimed_at.is_(None), Delivery.claimed_at < claimed_now - LEASE),
    ]


def due_ids(session: Session, now: dt.datetime, *, kinds: Iterable[str] | None = None) -> list[int]:
    """Ids of the deliveries due by `now`, unsent, uncancelled and unclaimed, oldest first.

    Reads the (sent_at, due_at) index: the rows not yet due are never visited.
    """
    query = select(Delivery.id).where(Delivery.due_at <= now, *_available(wall_clock()))
    if kinds is not None:
        query = query.where(Delivery.kind.in_(list(kinds)))
    return list(session.scalars(query.order_by(Delivery.due_at, Delivery.id)))


def claim(session: Session, delivery_id: int, token: str) -> bool:
    """Claim one delivery for this sender; True if the claim is ours."""
    now = wall_clock()
    pick = (
        select(Delivery.id)
        .where(Delivery.id == delivery_id, *_available(now))
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises writers anyway
        .scalar_subquery()
    )
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == pick, *_available(now))
        .values(claimed_at=now, claim_token=token)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def send_due(
    runtime: Runtime, now: dt.datetime | None = None, *, kinds: Iterable[str] | None = None
) -> SendReport:
    """Send every delivery due by `now` (default: the runtime's now) that was not sent."""
    now = now or runtime.now()
    report = SendReport()
    with runtime.transaction() as session:
        ids = due_ids(session, now, kinds=kinds)
    for delivery_id in ids:
        outcome = send_one(runtime, delivery_id, now)
        setattr(report, outcome, getattr(report, outcome) + 1)
    if ids:
        log.info(
            "deliveries",
            extra={
                "due": len(ids),
                "sent": report.sent,
                "failed": report.failed,
                "dropped": report.dropped,
                "skipped": report.skipped,
            },
        )
    return report


def send_one(runtime: Runtime, delivery_id: int, now: dt.datetime) -> str:
    """Claim, send and mark one delivery: `sent`, `failed`, `dropped` or `skipped`."""
    token = uuid.uuid4().hex
    with runtime.transaction() as session:
        if not claim(session, delivery_id, token):
            return "skipped"
        delivery = session.get(Delivery, delivery_id, populate_existing=True)
        assert delivery is not None
        outcome = reminders.message_for(runtime, session, delivery, now)
        if outcome.message is None:
            delivery.cancelled_at = now
            delivery.claimed_at = delivery.claim_token = None
            delivery.last_error = f"not sent: {outcome.dropped}"
            log.info("delivery dropped", extra={"key": delivery.key, "why": outcome.dropped})
            return "dropped"
        channel, thread_ts, key = delivery.channel, delivery.thread_ts, delivery.key
    message = outcome.message
    try:
        answer = runtime.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=message.text,
            blocks=message.blocks or None,
            unfurl_links=False,
            unfurl_media=False,
        )
    except (SlackApiError, SlackClientError, OSError) as error:
        _failed(runtime, delivery_id, token, now, key, error)
        return "failed"
    with runtime.transaction() as session:
        marked = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.claim_token == token,
                Delivery.sent_at.is_(None),
            )
            .values(
                sent_at=now,
                message_ts=answer.get("ts"),
                last_error=None,
                attempts=Delivery.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if marked.rowcount != 1:  # type: ignore[attr-defined]
            # Our lease lapsed while Slack was answering and another sender took over.
            log.warning("delivery sent after its claim lapsed", extra={"key": key})
            return "sent"
        delivery = session.get(Delivery, delivery_id, populate_existing=True)
        assert delivery is not None
        reminders.after_sent(session, delivery, now=now)
    return "sent"


def _failed(
    runtime: Runtime, delivery_id: int, token: str, now: dt.datetime, key: str, error: Exception
) -> None:
    code = error.response.get("error") if isinstance(error, SlackApiError) else None
    permanent = code in PERMANENT_ERRORS
    detail = f"{type(error).__name__}: {code or error}"[:1000]
    values: dict = {
        "claimed_at": None,
        "claim_token": None,
        "last_error": detail,
        "attempts": Delivery.attempts + 1,
    }
    if permanent:
        values["cancelled_at"] = now
    with runtime.transaction() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.claim_token == token)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if permanent:
        log.error("delivery given up: %s", detail, extra={"key": key})
    else:
        log.warning("delivery failed, will retry next tick: %s", detail, extra={"key": key})


def queued(session: Session) -> bool:
    """Whether this session queued announcements, to send with `send_pending` once committed."""
    return bool(session.info.get(reminders.ANNOUNCEMENTS_QUEUED))


def send_pending(runtime: Runtime) -> int:
    """Send the deliveries that are due now (announcements just made); how many were sent."""
    return send_due(runtime, kinds=IMMEDIATE_KINDS).sent
