"""Activities: recording them and moving them through their life.

Functions take plain values and a Session, record history, and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, event, func, inspect, select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.records import events, history
from bot.records.dates import ReviewYear, When, letter_dates, short_dates
from db.models import Activity, ActivityInspector, ActivityStatus, Authority, Service, utcnow
from db.session import CLOCK_KEY, serialise_writes

MAX_TITLE = 500
MAX_DETAILS = 3000


def letter_line(activity: Activity) -> str:
    """The activity as the letter prints it: `<title>, <dates>[ <details>]`."""
    line = f"{activity.title}, {letter_dates(activity.start_date, activity.end_date)}"
    if activity.details:
        separator = "" if activity.details[0] in ",.;:" else " "
        line += separator + activity.details
    return line


def check_text(title: str, details: str | None) -> None:
    """Refuse a missing or overlong title or details."""
    if not title.strip():
        raise UserError("missing_title")
    if len(title) > MAX_TITLE:
        raise UserError("too_long", what="title", limit=MAX_TITLE, length=len(title))
    if details and len(details) > MAX_DETAILS:
        raise UserError("too_long", what="details", limit=MAX_DETAILS, length=len(details))


def log_activity(
    session: Session,
    *,
    authority: Authority,
    service: Service,
    when: When,
    title: str,
    details: str | None,
    inspectors: list[str],
    actor: str,
    channel_id: str | None,
    today: dt.date,
    now: dt.datetime,
    platform: str = "slack",
    status: ActivityStatus | None = None,
    reason: str | None = None,
) -> Activity:
    """Record an activity: completed if it started before today, else scheduled, unless it is
    logged as postponed or cancelled (with `reason`) as it happened."""
    title, details = title.strip(), (details or "").strip() or None
    check_text(title, details)
    if status not in (None, ActivityStatus.POSTPONED, ActivityStatus.CANCELLED):
        raise ValueError(f"an activity is not logged as {status}")
    reason = (reason or "").strip() or None
    if reason and len(reason) > MAX_DETAILS:
        raise UserError("too_long", what="reason", limit=MAX_DETAILS, length=len(reason))
    if status is None:
        status = ActivityStatus.COMPLETED if when.start < today else ActivityStatus.SCHEDULED
    people = [actor, *[u for u in inspectors if u != actor]]
    activity = Activity(
        authority=authority,
        service=service,
        title=title,
        details=details,
        start_date=when.start,
        end_date=when.end,
        start_time=when.time,
        status=status,
        status_reason=reason,
        channel_id=channel_id,
        platform=platform,
        logged_by=actor,
        created_at=now,
        revised_at=now,
        inspectors=[ActivityInspector(user_id=u) for u in people],
    )
    session.add(activity)
    session.flush()
    history.record(
        session,
        actor=actor,
        subject="activity",
        subject_id=activity.id,
        action="logged",
        at=now,
        reason=reason,
        changes={
            "status": status.value,
            "start": when.start.isoformat(),
            "end": when.end.isoformat(),
        },
    )
    if status is ActivityStatus.SCHEDULED:
        events.publish(session, Scheduled(activity, now))
    return activity


def edit_activity(
    session: Session,
    activity: Activity,
    field: str,
    value: str | Service | When | None,
    *,
    actor: str,
    now: dt.datetime,
) -> str:
    """Change an activity's title, details, service or dates, keeping the old value in the
    history; returns the old value as shown. Its status stays: `reschedule` moves a plan."""
    changes: dict[str, str | None]
    if field == "title" or field == "details":
        text = (str(value) if value is not None else "").strip() or None
        title = text if field == "title" else activity.title
        check_text(title or "", text if field == "details" else activity.details)
        old = getattr(activity, field)
        setattr(activity, field, text)
        changes = {"old": old, "new": text}
    elif field == "service":
        assert isinstance(value, Service)
        old = activity.service.value
        activity.service = value
        changes = {"old": old, "new": value.value}
    elif field == "dates":
        assert isinstance(value, When)
        before = _when(activity)
        old = short_dates(before.start, before.end, before.time)
        activity.start_date, activity.end_date, activity.start_time = (
            value.start,
            value.end,
            value.time,
        )
        changes = {"old": old, "new": short_dates(value.start, value.end, value.time)}
    else:
        raise ValueError(f"no activity field {field!r}")
    history.record(
        session,
        actor=actor,
        subject="activity",
        subject_id=activity.id,
        action=f"edited {field}",
        at=now,
        changes=changes,
    )
    session.flush()
    if field == "dates":
        # The reminders follow the new dates (nothing is announced: it is a correction).
        move = Move(activity, "edited", before, activity.status, None)
        events.publish(session, Moved(move, actor, now))
    return changes["old"] or ""


def get_activity(session: Session, activity_id: int) -> Activity:
    """The activity with this id (not removed); UserError if there is none."""
    # Locked for the caller's transaction (a row lock on PostgreSQL, the write lock on
    # SQLite): two moves at once are made one after the other, each from the state the
    # other left, so history never records a stale "from".
    serialise_writes(session)
    activity = session.get(Activity, activity_id, with_for_update=True, populate_existing=True)
    if activity is None or activity.removed_at is not None:
        raise UserError("unknown_id", ref=f"A{activity_id}")
    return activity


@dataclass(frozen=True)
class Move:
    """What a lifecycle command changed, for the reply and the announcements."""

    activity: Activity
    action: str
    old_when: When
    old_status: ActivityStatus
    reason: str | None


@dataclass(frozen=True)
class Scheduled:
    """Event: an activity was logged as scheduled (published to `bot.records.events`)."""

    activity: Activity
    now: dt.datetime


@dataclass(frozen=True)
class Moved:
    """Event: an activity was rescheduled, postponed, cancelled, completed or had its dates
    corrected (`move.action` "edited")."""

    move: Move
    actor: str
    now: dt.datetime


@dataclass(frozen=True)
class Removed:
    """Event: an activity was taken out of lists and letters."""

    activity: Activity
    now: dt.datetime


# Columns whose change moves or alters an event in someone's calendar.
_SHOWN_FIELDS = (
    "title",
    "service",
    "authority_id",
    "start_date",
    "end_date",
    "start_time",
    "status",
    "removed_at",
)


def touched(activity: Activity, *, now: dt.datetime) -> None:
    """Record that an activity changed: its revision (`sequence`, `revised_at`) rises, which
    calendar feeds show as SEQUENCE and DTSTAMP.

    Every change to an activity's title, service, authority, dates, time or status calls
    this (a flush that changes one of those without it calls it itself, see below).
    """
    activity.sequence = (activity.sequence or 0) + 1
    activity.revised_at = now


@event.listens_for(Session, "before_flush")
def _raise_forgotten_sequences(session: Session, _context: object, _instances: object) -> None:
    # A safety net: whatever changes an activity's shown fields without calling `touched`
    # still raises its sequence, so a calendar never keeps a stale copy of it.
    for instance in session.dirty:
        if not isinstance(instance, Activity):
            continue
        state = inspect(instance)
        if state.attrs.sequence.history.has_changes():
            continue
        if any(state.attrs[name].history.has_changes() for name in _SHOWN_FIELDS):
            clock: Callable[[], dt.datetime] = session.info.get(CLOCK_KEY, utcnow)
            touched(instance, now=clock())


def _when(activity: Activity) -> When:
    return When(activity.start_date, activity.end_date, activity.start_time)


# What each move is called, the status it leads to, and the statuses it may start from.
_OPEN = (ActivityStatus.SCHEDULED, ActivityStatus.POSTPONED)
MOVES: dict[str, tuple[str, ActivityStatus, tuple[ActivityStatus, ...]]] = {
    "reschedule": ("rescheduled", ActivityStatus.SCHEDULED, _OPEN),
    "postpone": ("postponed", ActivityStatus.POSTPONED, (ActivityStatus.SCHEDULED,)),
    "cancel": ("cancelled", ActivityStatus.CANCELLED, _OPEN),
    "complete": ("completed", ActivityStatus.COMPLETED, _OPEN),
}


def _move(
    session: Session,
    activity: Activity,
    verb: str,
    *,
    actor: str,
    now: dt.datetime,
    reason: str | None,
    when: When | None = None,
) -> Move:
    action, status, allowed = MOVES[verb]
    if activity.status not in allowed:
        raise UserError(
            "cannot_move", ref=f"A{activity.id}", status=activity.status.value, action=verb
        )
    move = Move(activity, action, _when(activity), activity.status, reason)
    changes: dict[str, str] = {"status": f"{activity.status.value} -> {status.value}"}
    if when is not None:
        old = short_dates(activity.start_date, activity.end_date, activity.start_time)
        changes["dates"] = f"{old} -> {short_dates(when.start, when.end, when.time)}"
        activity.start_date, activity.end_date, activity.start_time = (
            when.start,
            when.end,
            when.time,
        )
    activity.status = status
    activity.status_reason = reason
    touched(activity, now=now)
    history.record(
        session,
        actor=actor,
        subject="activity",
        subject_id=activity.id,
        action=action,
        at=now,
        reason=reason,
        changes=changes,
    )
    session.flush()
    events.publish(session, Moved(move, actor, now))
    return move


def reschedule(
    session: Session,
    activity: Activity,
    when: When,
    *,
    reason: str | None,
    actor: str,
    today: dt.date,
    now: dt.datetime,
) -> Move:
    """Give a scheduled or postponed activity new dates; it is scheduled again."""
    if activity.status in _OPEN and when.start < today:
        raise UserError("reschedule_in_past", start=when.start)
    return _move(session, activity, "reschedule", actor=actor, now=now, reason=reason, when=when)


def postpone(
    session: Session, activity: Activity, *, reason: str | None, actor: str, now: dt.datetime
) -> Move:
    """Postpone a scheduled activity with no new date yet."""
    return _move(session, activity, "postpone", actor=actor, now=now, reason=reason)


def cancel(
    session: Session, activity: Activity, *, reason: str | None, actor: str, now: dt.datetime
) -> Move:
    """Cancel a scheduled or postponed activity."""
    return _move(session, activity, "cancel", actor=actor, now=now, reason=reason)


def complete(session: Session, activity: Activity, *, actor: str, now: dt.datetime) -> Move:
    """Mark a scheduled or postponed activity as done."""
    return _move(session, activity, "complete", actor=actor, now=now, reason=None)


def remove(session: Session, activity: Activity, *, actor: str, now: dt.datetime) -> None:
    """Take an activity out of lists and letters; the history keeps it."""
    activity.removed_at, activity.removed_by = now, actor
    touched(activity, now=now)
    history.record(
        session, actor=actor, subject="activity", subject_id=activity.id, action="removed", at=now
    )
    session.flush()
    events.publish(session, Removed(activity, now))


def _of_year(year: ReviewYear) -> list[ColumnElement[bool]]:
    # An activity belongs to the review year it starts in; a removed one to none.
    return [
        Activity.removed_at.is_(None),
        Activity.start_date >= year.first_day,
        Activity.start_date <= year.last_day,
    ]


def for_year(session: Session, authority: Authority, year: ReviewYear) -> list[Activity]:
    """The authority's activities starting in a review year, in date order."""
    return list(
        session.scalars(
            select(Activity)
            .where(Activity.authority_id == authority.id, *_of_year(year))
            .order_by(Activity.start_date, Activity.start_time, Activity.id)
        )
    )


def count_by_status(
    session: Session, year: ReviewYear, authority_ids: Collection[int]
) -> dict[tuple[int, ActivityStatus], int]:
    """How many activities of a review year (as `for_year` has them) each of these
    authorities has, by status: (authority id, status) → count, in one query."""
    rows = session.execute(
        select(Activity.authority_id, Activity.status, func.count())
        # The authorities named let the (authority, start date) index find the year's rows.
        .where(Activity.authority_id.in_(list(authority_ids)), *_of_year(year))
        .group_by(Activity.authority_id, Activity.status)
    )
    return {(authority_id, status): count for authority_id, status, count in rows}


def upcoming(session: Session, today: dt.date, days: int) -> list[Activity]:
    """Scheduled activities starting within `days` days of today, all authorities."""
    return list(
        session.scalars(
            select(Activity)
            .where(
                Activity.status == ActivityStatus.SCHEDULED,
                Activity.removed_at.is_(None),
                Activity.start_date >= today,
                Activity.start_date <= today + dt.timedelta(days=days),
            )
            .order_by(Activity.start_date, Activity.start_time, Activity.id)
        )
    )
