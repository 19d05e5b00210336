"""Reminders and announcements about activities and drafts, planned in the Delivery ledger.

The hooks (`activity_scheduled`, `activity_moved`, `activity_removed`, `draft_posted`,
`draft_decided`) follow the records' events (`bot.reminders` subscribes them to
`bot.records.events`), inside the caller's transaction: they only
add, revive or cancel `Delivery` rows (each for the platform the activity or draft lives
on), never talk to a chat platform. The platform's sender sends the rows when they fall due and asks `message_for` what to say, so a reminder always shows
the activity as it is when it goes out.

Rules (SPEC "Reminders"):
- a scheduled activity is reminded at 09:00 office time 5 working days and 1 working day
  before it starts; a reminder whose time has already passed when the activity is
  scheduled (logged or rescheduled late) is not planned: the inspectors have just been
  told by the log reply or the move announcement;
- one delivery per recipient: a DM to each inspector (by user id) and a post in the
  channel the activity was logged from (unless that was a DM);
- reschedule, postpone and cancel are announced at once to the same people; the pending
  reminders of the old dates are cancelled and the new dates get theirs;
- a postponed activity with no new date is raised again every 10 working days (each one
  sent plans the next) until it is rescheduled, cancelled, completed or removed;
- a draft version is raised in its thread 2 working days after it was posted when nobody
  decided on it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, aliased

from bot.delivery.messages import PRIMARY, Action, Message
from bot.records import activities
from bot.records.dates import ReviewYear
from bot.reminders.workdays import add_working_days, working_days_before
from db.models import (
    Activity,
    ActivityInspector,
    ActivityStatus,
    Delivery,
    Draft,
    DraftVersion,
    Review,
)
from db.session import OFFICE_TZ_KEY

if TYPE_CHECKING:
    from bot.runtime import Runtime

REMIND_AT = dt.time(9, 0)
REMINDER_DAYS = (5, 1)  # working days before the start
POSTPONED_EVERY = 10  # working days between raising a postponed activity again
DRAFT_WAIT = 2  # working days a draft version waits for a decision before it is raised
ANNOUNCED = ("rescheduled", "postponed", "cancelled")

REMINDER = "reminder"
ANNOUNCE = "announce"
ANNOUNCEMENTS_QUEUED = "announcements_queued"  # Session.info key
POSTPONED = "postponed"
DRAFT_NUDGE = "draft-nudge"
# Planned follow-ups of an activity: cancelled whenever the activity moves or goes.
FOLLOW_UPS = (REMINDER, POSTPONED)


# -- time -------------------------------------------------------------------------------
def office_zone(session: Session) -> ZoneInfo:
    """The office time zone the session's runtime carries (`Runtime`), else CIW_TIMEZONE."""
    zone = session.info.get(OFFICE_TZ_KEY)
    if zone is None:
        zone = ZoneInfo(os.environ.get("CIW_TIMEZONE", "").strip() or "Europe/London")
    return zone


def office_at(zone: ZoneInfo, day: dt.date, at: dt.time = REMIND_AT) -> dt.datetime:
    """A wall-clock time in the office on `day`, as UTC."""
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%MZ")


def reminder_days(start: dt.date) -> list[tuple[int, dt.date]]:
    """(working days before, date) of the reminders of an activity starting on `start`."""
    return [(n, working_days_before(start, n)) for n in REMINDER_DAYS]


# -- the ledger -------------------------------------------------------------------------
def recipients(activity: Activity) -> list[str]:
    """Who hears about an activity: each inspector by DM, and the channel it was logged in."""
    people = list(activity.inspector_ids)
    # A command typed in a DM has a D… channel the bot cannot post in; the DMs cover it.
    if activity.channel_id and not activity.channel_id.startswith("D"):
        people.append(activity.channel_id)
    return list(dict.fromkeys(people))


def plan(
    session: Session,
    *,
    key: str,
    kind: str,
    channel: str,
    due_at: dt.datetime,
    activity_id: int | None = None,
    draft_id: int | None = None,
    thread_ts: str | None = None,
    payload: dict[str, Any] | None = None,
    platform: str,
) -> Delivery:
    """Add a delivery, or revive the one with this key if it was cancelled (not if sent)."""
    if kind == ANNOUNCE:
        # Tells the caller, once committed, to send it at once (`deliveries.queued`).
        session.info[ANNOUNCEMENTS_QUEUED] = True
    existing = session.scalar(select(Delivery).where(Delivery.key == key))
    if existing is not None:
        if existing.sent_at is None:
            # e.g. rescheduled back to the original date: the same reminder is owed again.
            existing.cancelled_at = None
            existing.due_at = due_at
            existing.payload = payload
            existing.last_error = None
        return existing
    delivery = Delivery(
        key=key,
        kind=kind,
        platform=platform,
        channel=channel,
        due_at=due_at,
        activity_id=activity_id,
        draft_id=draft_id,
        thread_ts=thread_ts,
        payload=payload,
        attempts=0,
    )
    session.add(delivery)
    return delivery


def cancel_pending(
    session: Session,
    *,
    now: dt.datetime,
    kinds: tuple[str, ...],
    activity_id: int | None = None,
    draft_id: int | None = None,
) -> int:
    """Cancel the unsent deliveries of these kinds for an activity or a draft; how many."""
    statement = update(Delivery).where(
        Delivery.sent_at.is_(None),
        Delivery.cancelled_at.is_(None),
        Delivery.kind.in_(kinds),
    )
    if activity_id is not None:
        statement = statement.where(Delivery.activity_id == activity_id)
    if draft_id is not None:
        statement = statement.where(Delivery.draft_id == draft_id)
    result = session.execute(statement.values(cancelled_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def plan_reminders(session: Session, activity: Activity, *, now: dt.datetime) -> list[Delivery]:
    """Plan the 5- and 1-working-day reminders of a scheduled activity still ahead of `now`."""
    zone = office_zone(session)
    planned = []
    for before, day in reminder_days(activity.start_date):
        due = office_at(zone, day)
        if due <= now:
            continue  # already past when it was scheduled: see the module docstring
        for recipient in recipients(activity):
            planned.append(
                plan(
                    session,
                    key=f"remind:A{activity.id}:before-{before}:{_stamp(due)}:{recipient}",
                    kind=REMINDER,
                    channel=recipient,
                    due_at=due,
                    activity_id=activity.id,
                    payload={"before": before},
                    platform=activity.platform,
                )
            )
    return planned


def plan_postponed(
    session: Session, activity: Activity, *, after: dt.date, recipients_: list[str] | None = None
) -> list[Delivery]:
    """Plan raising a postponed activity again 10 working days after `after`, 09:00."""
    due = office_at(office_zone(session), add_working_days(after, POSTPONED_EVERY))
    return [
        plan(
            session,
            key=f"postponed:A{activity.id}:{_stamp(due)}:{recipient}",
            kind=POSTPONED,
            channel=recipient,
            due_at=due,
            activity_id=activity.id,
            platform=activity.platform,
        )
        for recipient in (recipients_ if recipients_ is not None else recipients(activity))
    ]


def snooze(
    session: Session, delivery: Delivery, activity: Activity, *, now: dt.datetime
) -> Delivery | None:
    """Remind this conversation again 1 working day later at 09:00; None if that is too late."""
    zone = office_zone(session)
    today = now.astimezone(zone).date()
    due = office_at(zone, add_working_days(today, 1))
    if activity.status is not ActivityStatus.SCHEDULED or due.astimezone(zone).date() > (
        activity.start_date
    ):
        return None
    return plan(
        session,
        key=f"snooze:A{activity.id}:{_stamp(due)}:{delivery.channel}",
        kind=REMINDER,
        channel=delivery.channel,
        due_at=due,
        activity_id=activity.id,
        payload={"snoozed": True},
        platform=delivery.platform,
    )


# -- hooks called by the domain -------------------------------------------------------------
def activity_scheduled(session: Session, activity: Activity, *, now: dt.datetime) -> None:
    """Plan the reminders of a newly scheduled activity."""
    plan_reminders(session, activity, now=now)


def activity_moved(
    session: Session, move: activities.Move, *, actor: str, now: dt.datetime
) -> None:
    """Re-plan reminders after a reschedule, postponement, cancellation or completion.

    The pending reminders of the old dates stop; a reschedule, postponement or
    cancellation is announced at once to the same people, with old and new dates and
    the reason; the new dates get their reminders, a postponement its follow-ups.
    """
    activity = move.activity
    cancel_pending(session, now=now, kinds=FOLLOW_UPS, activity_id=activity.id)
    if move.action in ANNOUNCED:
        old = move.old_when
        payload = {
            "action": move.action,
            "actor": actor,
            "reason": move.reason,
            "old_status": move.old_status.value,
            "old": _when_data(old.start, old.end, old.time),
            "new": _when_data(activity.start_date, activity.end_date, activity.start_time)
            if move.action == "rescheduled"
            else None,
        }
        for recipient in recipients(activity):
            plan(
                session,
                key=f"announce:A{activity.id}:{move.action}:{now.isoformat()}:{recipient}",
                kind=ANNOUNCE,
                channel=recipient,
                due_at=now,
                activity_id=activity.id,
                payload=payload,
                platform=activity.platform,
            )
    if activity.status is ActivityStatus.SCHEDULED:
        plan_reminders(session, activity, now=now)
    elif activity.status is ActivityStatus.POSTPONED:
        plan_postponed(session, activity, after=now.astimezone(office_zone(session)).date())


def activity_removed(session: Session, activity: Activity, *, now: dt.datetime) -> None:
    """Stop the reminders of a removed activity."""
    cancel_pending(session, now=now, kinds=FOLLOW_UPS, activity_id=activity.id)


def draft_posted(
    session: Session, draft: Draft, version: DraftVersion, *, now: dt.datetime
) -> None:
    """Plan the nudge raised in the draft's thread after 2 working days without a decision.

    A new version replaces the nudge of the previous one.
    """
    cancel_pending(session, now=now, kinds=(DRAFT_NUDGE,), draft_id=draft.id)
    zone = office_zone(session)
    local = now.astimezone(zone)
    due = office_at(zone, add_working_days(local.date(), DRAFT_WAIT), local.time())
    plan(
        session,
        key=f"draft:D{draft.id}:v{version.number}:{_stamp(due)}",
        kind=DRAFT_NUDGE,
        channel=draft.channel_id,
        thread_ts=draft.thread_ts,
        due_at=due,
        draft_id=draft.id,
        payload={"version": version.number, "posted_at": now.isoformat()},
        platform=draft.platform,
    )


def draft_decided(session: Session, draft: Draft, *, now: dt.datetime) -> None:
    """Stop the pending nudges of a draft that got a decision (approved or changes requested)."""
    cancel_pending(session, now=now, kinds=(DRAFT_NUDGE,), draft_id=draft.id)


def _when_data(start: dt.date, end: dt.date, time: dt.time | None) -> dict[str, str | None]:
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "time": time.strftime("%H:%M") if time else None,
    }


def _when_of(data: dict[str, str | None] | None) -> tuple[dt.date, dt.date, dt.time | None] | None:
    if not data:
        return None
    time = data.get("time")
    return (
        dt.date.fromisoformat(str(data["start"])),
        dt.date.fromisoformat(str(data["end"])),
        dt.time.fromisoformat(time) if time else None,
    )


# -- what a delivery says ------------------------------------------------------------------
@dataclass
class Outcome:
    """What `message_for` decided: a message to send, or why the delivery is no longer owed."""

    message: Message | None = None
    dropped: str | None = None


def quarter_of(day: dt.date) -> int:
    """The quarter of the review year (April–June is 1) a date falls in."""
    return (day.month - 4) % 12 // 3 + 1


def message_for(
    runtime: Runtime, session: Session, delivery: Delivery, now: dt.datetime
) -> Outcome:
    """What to post for a delivery now, or why it is not owed any more (state changed)."""
    if delivery.kind == DRAFT_NUDGE:
        return _draft_nudge(runtime, session, delivery)
    activity = session.get(Activity, delivery.activity_id) if delivery.activity_id else None
    if activity is None:
        return Outcome(dropped="the activity no longer exists")
    if delivery.kind == ANNOUNCE:
        return Outcome(_announcement(runtime, activity, delivery))
    if activity.removed_at is not None:
        return Outcome(dropped="the activity was removed")
    if delivery.kind == POSTPONED:
        if activity.status is not ActivityStatus.POSTPONED:
            return Outcome(dropped=f"the activity is {activity.status.value}")
        return Outcome(_postponed(runtime, activity, delivery))
    if activity.status is not ActivityStatus.SCHEDULED:
        return Outcome(dropped=f"the activity is {activity.status.value}")
    today = now.astimezone(runtime.settings.tz).date()
    if today > activity.start_date:
        # A clock down for days must not remind people of what has already begun.
        return Outcome(dropped="the activity has already started")
    if _superseded(session, delivery, now):
        # Back after a long stop: only the latest reminder due for this conversation goes.
        return Outcome(dropped="a later reminder is due as well")
    return Outcome(_reminder(runtime, activity, delivery, today))


def _superseded(session: Session, delivery: Delivery, now: dt.datetime) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Delivery.activity_id == delivery.activity_id,
                    Delivery.channel == delivery.channel,
                    Delivery.kind == REMINDER,
                    Delivery.sent_at.is_(None),
                    Delivery.cancelled_at.is_(None),
                    Delivery.due_at > delivery.due_at,
                    Delivery.due_at <= now,
                )
            )
        )
    )


def working_days_until(today: dt.date, start: dt.date) -> int:
    """How many working days from `today` (exclusive) to `start` (inclusive of it if working)."""
    count, day = 0, today
    while day < start:
        day = add_working_days(day, 1)
        count += 1
    return count


def _common(activity: Activity, delivery: Delivery) -> dict[str, Any]:
    year = ReviewYear.of(activity.start_date)
    return {
        "activity": activity,
        "line": activities.letter_line(activity),
        "year": year,
        "quarter": quarter_of(activity.start_date),
        "in_channel": not is_person(delivery.channel),
        "payload": delivery.payload or {},
    }


# A delivery to a person is addressed by their user id: Slack's `U…`/`W…`, or (Teams) an
# Entra object id; anything else is a channel or conversation.
_PERSON = re.compile(r"^(?:[UW][A-Z0-9]+|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})$")


def is_person(channel: str) -> bool:
    """Whether a delivery's destination is a person (their own chat with the bot)."""
    return bool(_PERSON.match(channel))


DONE, SNOOZE, LIST = "reminder_done", "reminder_snooze", "reminder_list"


def _buttons(
    runtime: Runtime, activity: Activity, delivery: Delivery, *, done_snooze: bool
) -> tuple[Action, ...]:
    labels = runtime.templates.message("reminder_buttons").splitlines()
    done, snooze_label, open_list = (label.strip() for label in labels[:3])
    value = f'{{"a": {activity.id}, "d": {delivery.id}}}'
    actions: list[Action] = []
    if done_snooze:
        actions += [Action(DONE, done, value, PRIMARY), Action(SNOOZE, snooze_label, value)]
    actions.append(Action(LIST, open_list, value))
    return tuple(actions)


def _reminder(runtime: Runtime, activity: Activity, delivery: Delivery, today: dt.date) -> Message:
    # Said as it is when it goes out (a reminder sent late must not say "in 5 days").
    text = runtime.templates.neutral(
        "reminder",
        days_left=working_days_until(today, activity.start_date),
        **_common(activity, delivery),
    )
    return Message(
        text,
        actions=_buttons(runtime, activity, delivery, done_snooze=True),
        group=f"reminder-{delivery.id}",
    )


def _postponed(runtime: Runtime, activity: Activity, delivery: Delivery) -> Message:
    text = runtime.templates.neutral("reminder_postponed", **_common(activity, delivery))
    return Message(
        text,
        actions=_buttons(runtime, activity, delivery, done_snooze=False),
        group=f"reminder-{delivery.id}",
    )


def _announcement(runtime: Runtime, activity: Activity, delivery: Delivery) -> Message:
    payload = delivery.payload or {}
    text = runtime.templates.neutral(
        "announce",
        old=_when_of(payload.get("old")),
        new=_when_of(payload.get("new")),
        action=payload.get("action"),
        actor=payload.get("actor"),
        reason=payload.get("reason"),
        **_common(activity, delivery),
    )
    return Message(text)


def _draft_nudge(runtime: Runtime, session: Session, delivery: Delivery) -> Outcome:
    draft = session.get(Draft, delivery.draft_id) if delivery.draft_id else None
    if draft is None or not draft.versions:
        return Outcome(dropped="the draft no longer exists")
    number = (delivery.payload or {}).get("version")
    current = draft.versions[-1]
    if current.number != number:
        return Outcome(dropped="a newer version was posted")
    if current.approved_at is not None:
        return Outcome(dropped="the draft was approved")
    decided = session.scalar(select(exists().where(Review.version_id == current.id)))
    if decided:
        return Outcome(dropped="the version got a decision")
    if delivery.thread_ts is None:
        # Planned before the draft reached Slack: its thread is known now.
        delivery.thread_ts = draft.thread_ts
    text = runtime.templates.neutral(
        "reminder_draft",
        draft=draft,
        version=current,
        year=ReviewYear(draft.review_year),
        days=DRAFT_WAIT,
        approvals=runtime.settings.required_approvals,
    )
    return Outcome(Message(text))


def after_sent(session: Session, delivery: Delivery, *, now: dt.datetime) -> None:
    """Plan what follows a delivery that went out (a postponed activity's next raise)."""
    if delivery.kind != POSTPONED or delivery.activity_id is None:
        return
    activity = session.get(Activity, delivery.activity_id)
    if activity is None or activity.removed_at is not None:
        return
    if activity.status is ActivityStatus.POSTPONED:
        # Counted from when it went out, not from when it was due: after a clock stopped
        # for weeks, one catch-up goes, then every 10 working days from then (a next one
        # planned from the old due date would be due at once, and so on, each tick).
        zone = office_zone(session)
        after = max(delivery.due_at, now).astimezone(zone).date()
        plan_postponed(session, activity, after=after, recipients_=[delivery.channel])


# -- what the App Home shows ------------------------------------------------------------------
def _upcoming_for_where(user_id: str, today: dt.date) -> list[Any]:
    return [
        ActivityInspector.user_id == user_id,
        Activity.removed_at.is_(None),
        Activity.status.in_([ActivityStatus.SCHEDULED, ActivityStatus.POSTPONED]),
        (Activity.start_date >= today) | (Activity.status == ActivityStatus.POSTPONED),
    ]


def upcoming_for(
    session: Session, user_id: str, today: dt.date, *, limit: int = 20
) -> list[Activity]:
    """The scheduled and postponed activities this user inspects, from today, soonest first."""
    return list(
        session.scalars(
            select(Activity)
            .join(ActivityInspector, ActivityInspector.activity_id == Activity.id)
            .where(*_upcoming_for_where(user_id, today))
            .order_by(Activity.start_date, Activity.start_time, Activity.id)
            .limit(limit)
        )
    )


def count_upcoming_for(session: Session, user_id: str, today: dt.date) -> int:
    """How many activities `upcoming_for` would give without a limit."""
    return (
        session.scalar(
            select(func.count(Activity.id))
            .join(ActivityInspector, ActivityInspector.activity_id == Activity.id)
            .where(*_upcoming_for_where(user_id, today))
        )
        or 0
    )


@dataclass(frozen=True)
class WaitingDraft:
    """A draft whose current version has no approval yet, and whether this user decided."""

    draft: Draft
    version: DraftVersion
    reviewed: bool


def drafts_waiting(session: Session, user_id: str, *, limit: int = 20) -> list[WaitingDraft]:
    """Drafts whose newest version is not approved; those this user has not reviewed first."""
    later = aliased(DraftVersion)
    rows = session.execute(
        select(Draft, DraftVersion)
        .join(DraftVersion, DraftVersion.draft_id == Draft.id)
        .where(
            DraftVersion.approved_at.is_(None),
            ~exists().where(
                later.draft_id == DraftVersion.draft_id, later.number > DraftVersion.number
            ),
        )
        .order_by(DraftVersion.created_at)
        .limit(limit)
    ).all()
    waiting = []
    for draft, version in rows:
        reviewed = bool(
            session.scalar(
                select(exists().where(Review.version_id == version.id, Review.user_id == user_id))
            )
        )
        waiting.append(WaitingDraft(draft, version, reviewed))
    return sorted(waiting, key=lambda w: w.reviewed)
