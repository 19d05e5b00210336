"""The outbox: every message the bot owes a chat platform, stored beside the records.

Platform-neutral on purpose: a row names its platform (whose sender delivers it), a destination (a channel or person, a thread,
or the thread of a draft), an action (`post`, `update`, `upload`), a kind the platform's
renderer knows (`reminder`, `draft-part`, …) and plain values in `payload`; never a
platform's blocks or client types. The domain adds rows with `enqueue` inside its own
transaction, so a record and the messages it causes commit together or not at all.
A platform's sender (`handlers.slack.deliveries`, `handlers.teams.sender`) takes the rows out with the functions
below, in three short transactions per message (claim; deliver outside any transaction;
mark), so nothing outbound ever happens inside a database transaction.

Exactly once: a row is claimed with one conditional UPDATE (on PostgreSQL the row is
picked `FOR UPDATE SKIP LOCKED`, so a second sender skips it rather than waits); it is
marked sent only where the claim still stands. A sender that dies after the platform took
the message leaves a claim that lapses after `LEASE`; whoever takes the row over first
looks for the row's key in the conversation (the key travels with the message) and
marks it sent instead of sending it again.

Order: rows sharing a `conversation` go out in id order, each only once the one before it
was sent or given up, so a multi-part letter arrives in order and a part that goes into
a thread waits for the message that starts the thread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import case, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from db.models import Delivery

LEASE = dt.timedelta(minutes=10)
# Session.info key: this transaction queued messages to send as soon as it commits.
QUEUED = "outbox_queued"
# last_error prefix of a failure after which nobody knows whether the platform took the
# message (a timeout, a lost connection): the next attempt looks for it first.
UNCERTAIN = "uncertain: "

POST, UPDATE, UPLOAD = "post", "update", "upload"
# A plain message whose words are in the payload (`{"text": …}`, already rendered from a
# template): what any platform can show as it is.
NOTICE = "notice"


def wall_clock() -> dt.datetime:
    """The real time, UTC: what claims and their lease are measured in."""
    return dt.datetime.now(dt.UTC)


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    channel: str,
    due_at: dt.datetime,
    platform: str,
    action: str = POST,
    conversation: str | None = None,
    thread_ts: str | None = None,
    activity_id: int | None = None,
    draft_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> Delivery:
    """Add a message to the outbox in the caller's transaction; the existing row if the key
    is there already (whatever a platform repeats, a message is owed once)."""
    session.info[QUEUED] = True
    existing = session.scalar(select(Delivery).where(Delivery.key == key))
    if existing is not None:
        return existing
    row = Delivery(
        key=key,
        kind=kind,
        action=action,
        platform=platform,
        channel=channel,
        conversation=conversation,
        thread_ts=thread_ts,
        activity_id=activity_id,
        draft_id=draft_id,
        payload=payload,
        due_at=due_at,
        attempts=0,
    )
    session.add(row)
    session.flush()
    return row


def queued(session: Session) -> bool:
    """Whether this session queued messages (send them once it has committed)."""
    return bool(session.info.get(QUEUED) or session.info.get("announcements_queued"))


def _available(claimed_now: dt.datetime) -> list:
    return [
        Delivery.sent_at.is_(None),
        Delivery.cancelled_at.is_(None),
        or_(Delivery.claimed_at.is_(None), Delivery.claimed_at < claimed_now - LEASE),
    ]


def due_ids(
    session: Session,
    now: dt.datetime,
    *,
    kinds: Iterable[str] | None = None,
    limit: int | None = None,
    platform: str | None = None,
) -> list[int]:
    """Ids of the rows a sender may take now, in the order they must go.

    Due by `now`, unsent, uncancelled, unclaimed (or the claim lapsed), not waiting for a
    retry, and not behind an earlier unsent row of the same conversation. Reads the
    (sent_at, due_at) index: rows not yet due are never visited.
    """
    earlier = aliased(Delivery)
    query = select(Delivery.id).where(
        Delivery.due_at <= now,
        *_available(wall_clock()),
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= wall_clock()),
        or_(
            Delivery.conversation.is_(None),
            ~exists().where(
                earlier.conversation == Delivery.conversation,
                earlier.id < Delivery.id,
                earlier.sent_at.is_(None),
                earlier.cancelled_at.is_(None),
            ),
        ),
    )
    if kinds is not None:
        query = query.where(Delivery.kind.in_(list(kinds)))
    if platform is not None:
        query = query.where(Delivery.platform == platform)
    query = query.order_by(Delivery.due_at, Delivery.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def soon_retry(
    session: Session,
    now: dt.datetime,
    *,
    platform: str,
    marker: str,
    max_attempts: int,
    within: float,
    kinds: Iterable[str] | None = None,
) -> float | None:
    """Seconds until the first of a platform's rows due by `now` that the platform asked to
    wait for (`marker` in its last error: a 429) may be tried again, if within `within`
    seconds and it has had fewer than `max_attempts`; else None (a later pass takes it)."""
    query = select(func.min(Delivery.next_attempt_at)).where(
        Delivery.sent_at.is_(None),
        Delivery.cancelled_at.is_(None),
        Delivery.due_at <= now,
        Delivery.platform == platform,
        Delivery.next_attempt_at.is_not(None),
        Delivery.attempts < max_attempts,
        Delivery.last_error.like(f"%{marker}%"),
    )
    if kinds is not None:
        query = query.where(Delivery.kind.in_(list(kinds)))
    first = session.scalar(query)
    if first is None:
        return None
    wait = (first - wall_clock()).total_seconds()
    return max(wait, 0.01) if wait <= within else None


def claim(session: Session, row_id: int, token: str) -> bool:
    """Claim one row for this sender; True if the claim is ours."""
    now = wall_clock()
    pick = (
        select(Delivery.id)
        .where(Delivery.id == row_id, *_available(now))
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


def mark_sent(
    session: Session, row_id: int, token: str, *, now: dt.datetime, message_ts: str | None
) -> bool:
    """Record that the platform took the row's message; False if our claim had lapsed."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == row_id, Delivery.claim_token == token, Delivery.sent_at.is_(None))
        .values(
            sent_at=now,
            message_ts=message_ts,
            last_error=None,
            next_attempt_at=None,
            attempts=Delivery.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def mark_failed(
    session: Session,
    row_id: int,
    token: str,
    *,
    now: dt.datetime,
    detail: str,
    permanent: bool,
    retry_at: dt.datetime | None = None,
) -> None:
    """Release our claim after a failed delivery: retried from `retry_at`, or given up."""
    values: dict[str, Any] = {
        "claimed_at": None,
        "claim_token": None,
        "last_error": detail[:1000],
        "attempts": Delivery.attempts + 1,
        "next_attempt_at": retry_at,
    }
    if permanent:
        values["cancelled_at"] = now
    session.execute(
        update(Delivery)
        .where(Delivery.id == row_id, Delivery.claim_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def cancel(session: Session, row: Delivery, *, now: dt.datetime, why: str) -> None:
    """Give a row up because it is no longer owed (the records changed meanwhile)."""
    row.cancelled_at = now
    row.claimed_at = row.claim_token = None
    row.last_error = f"{NOT_OWED}{why}"


# last_error prefix of a row given up because it was no longer owed (`cancel`), not
# because the platform refused it.
NOT_OWED = "not sent: "


def state_by_platform(
    session: Session, *, now: dt.datetime, reminder_kind: str = "reminder"
) -> dict[str, dict[str, Any]]:
    """What the outbox holds, per platform, in one query: messages `waiting` (due, not sent
    nor given up) and the `oldest_due` of them, `sent`, `given_up` (refused for good or out
    of tries, not merely no longer owed), `failed` (failed attempts, retried or not) and
    `reminders_due` (waiting reminders). For the operator's metrics."""
    waiting = (
        Delivery.sent_at.is_(None) & Delivery.cancelled_at.is_(None) & (Delivery.due_at <= now)
    )
    given_up = Delivery.cancelled_at.is_not(None) & or_(
        Delivery.last_error.is_(None), ~Delivery.last_error.startswith(NOT_OWED)
    )

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = session.execute(
        select(
            Delivery.platform,
            count(waiting),
            func.min(case((waiting, Delivery.due_at)), type_=Delivery.due_at.type),
            count(Delivery.sent_at.is_not(None)),
            count(given_up),
            func.coalesce(func.sum(Delivery.attempts), 0),
            count(waiting & (Delivery.kind == reminder_kind)),
        ).group_by(Delivery.platform)
    )
    found: dict[str, dict[str, Any]] = {}
    for platform, waits, oldest, sent, gave_up, attempts, reminders in rows:
        found[platform] = {
            "waiting": int(waits),
            "oldest_due": oldest,
            "sent": int(sent),
            "given_up": int(gave_up),
            # Every attempt that did not end in `sent` failed.
            "failed": int(attempts) - int(sent),
            "reminders_due": int(reminders),
        }
    return found
