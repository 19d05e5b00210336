"""Activities recorded and moved through their life, directly on the domain."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.errors import UserError
from bot.records import activities, authorities, history
from bot.records.dates import ReviewYear, When
from db.models import Activity, ActivityStatus, Delivery, HistoryEntry, Service
from db.session import session_factory, transaction

D = dt.date
NOW = dt.datetime(2020, 3, 2, 10, 0, tzinfo=dt.UTC)
TODAY = D(2020, 3, 2)


@pytest.fixture
def session(engine):
    with transaction(session_factory(engine)) as session:
        yield session


def log(
    session,
    when: When,
    title="performance review meeting",
    details=None,
    inspectors=(),
    authority="wrexham",
    service=Service.ADULTS,
) -> Activity:
    return activities.log_activity(
        session,
        authority=authorities.resolve(session, authority),
        service=service,
        when=when,
        title=title,
        details=details,
        inspectors=list(inspectors),
        actor="U0ME",
        channel_id="G0REVIEW",
        today=TODAY,
        now=NOW,
    )


def test_past_is_completed_today_and_future_scheduled(session):
    assert log(session, When(D(2019, 4, 10), D(2019, 4, 10))).status is ActivityStatus.COMPLETED
    assert log(session, When(D(2020, 3, 1), D(2020, 3, 3))).status is ActivityStatus.COMPLETED
    assert log(session, When(TODAY, TODAY)).status is ActivityStatus.SCHEDULED
    assert log(session, When(D(2020, 4, 20), D(2020, 4, 20))).status is ActivityStatus.SCHEDULED


def test_the_logger_is_always_an_inspector(session):
    activity = log(session, When(TODAY, TODAY), inspectors=["U0ALEX", "U0ME", "U0ALEX"][:2])
    assert sorted(activity.inspector_ids) == ["U0ALEX", "U0ME"]
    assert log(session, When(TODAY, TODAY)).inspector_ids == ["U0ME"]


@pytest.mark.parametrize(
    ("title", "details", "line"),
    [
        (
            "focused activity in children's services",
            "to review selected files and records",
            "focused activity in children's services, 24 and 25 September 2019 to review selected "
            "files and records",
        ),
        ("focused activity", None, "focused activity, 24 and 25 September 2019"),
        ("focused activity", ", with HIW", "focused activity, 24 and 25 September 2019, with HIW"),
    ],
)
def test_letter_line(session, title, details, line):
    activity = log(session, When(D(2019, 9, 24), D(2019, 9, 25)), title=title, details=details)
    assert activities.letter_line(activity) == line


def test_text_checks(session):
    for title, details, template in [
        ("   ", None, "missing_title"),
        ("x" * 501, None, "too_long"),
        ("ok", "y" * 3001, "too_long"),
    ]:
        with pytest.raises(UserError) as error:
            log(session, When(TODAY, TODAY), title=title, details=details)
        assert error.value.template == template
    assert session.scalar(select(func.count()).select_from(Activity)) == 0


def test_lifecycle_keeps_who_when_why(session):
    activity = log(session, When(D(2020, 4, 20), D(2020, 4, 20), dt.time(10)))
    later = NOW + dt.timedelta(hours=1)
    activities.postpone(session, activity, reason="COVID-19", actor="U0BEA", now=later)
    assert activity.status is ActivityStatus.POSTPONED and activity.status_reason == "COVID-19"
    activities.reschedule(
        session,
        activity,
        When(D(2020, 9, 14), D(2020, 9, 15)),
        reason="new date agreed",
        actor="U0BEA",
        today=TODAY,
        now=later,
    )
    assert (activity.status, activity.start_date, activity.end_date, activity.start_time) == (
        ActivityStatus.SCHEDULED,
        D(2020, 9, 14),
        D(2020, 9, 15),
        None,
    )
    activities.complete(session, activity, actor="U0ME", now=later)
    entries = history.for_subjects(session, "activity", [activity.id])[str(activity.id)]
    assert [(e.action, e.actor, e.reason) for e in entries] == [
        ("logged", "U0ME", None),
        ("postponed", "U0BEA", "COVID-19"),
        ("rescheduled", "U0BEA", "new date agreed"),
        ("completed", "U0ME", None),
    ]
    assert (
        entries[2].changes["dates"] == "Mon 20 Apr 2020 10:00 -> Mon 14 Sep 2020 to Tue 15 Sep 2020"
    )


def test_what_cannot_move(session):
    done = log(session, When(D(2019, 4, 10), D(2019, 4, 10)))
    for move in (
        lambda: activities.postpone(session, done, reason=None, actor="U", now=NOW),
        lambda: activities.cancel(session, done, reason=None, actor="U", now=NOW),
        lambda: activities.complete(session, done, actor="U", now=NOW),
        lambda: activities.reschedule(
            session,
            done,
            When(D(2020, 5, 1), D(2020, 5, 1)),
            reason=None,
            actor="U",
            today=TODAY,
            now=NOW,
        ),
    ):
        with pytest.raises(UserError) as error:
            move()
        assert error.value.template == "cannot_move"
    planned = log(session, When(D(2020, 4, 20), D(2020, 4, 20)))
    with pytest.raises(UserError) as error:
        activities.reschedule(
            session,
            planned,
            When(D(2020, 3, 1), D(2020, 3, 1)),
            reason=None,
            actor="U",
            today=TODAY,
            now=NOW,
        )
    assert error.value.template == "reschedule_in_past"
    activities.cancel(session, planned, reason="not needed", actor="U", now=NOW)
    with pytest.raises(UserError):
        activities.postpone(session, planned, reason=None, actor="U", now=NOW)


def test_removed_activities_leave_lists_but_not_history(session):
    activity = log(session, When(D(2019, 9, 24), D(2019, 9, 25)))
    wrexham = activity.authority
    assert activities.for_year(session, wrexham, ReviewYear(2019)) == [activity]
    activities.remove(session, activity, actor="U0ME", now=NOW)
    assert activities.for_year(session, wrexham, ReviewYear(2019)) == []
    with pytest.raises(UserError) as error:
        activities.get_activity(session, activity.id)
    assert error.value.data == {"ref": f"A{activity.id}"}
    assert (
        session.scalar(
            select(func.count()).select_from(HistoryEntry).where(HistoryEntry.action == "removed")
        )
        == 1
    )


def test_for_year_and_upcoming(session):
    first = log(session, When(D(2019, 4, 1), D(2019, 4, 1)))
    last = log(session, When(D(2020, 3, 31), D(2020, 3, 31)))
    april = log(session, When(D(2020, 4, 1), D(2020, 4, 1)))
    log(session, When(D(2019, 6, 1), D(2019, 6, 1)), authority="cardiff")
    wrexham = first.authority
    assert activities.for_year(session, wrexham, ReviewYear(2019)) == [first, last]
    soon = log(session, When(D(2020, 3, 20), D(2020, 3, 20)), authority="powys")
    assert activities.upcoming(session, TODAY, 30) == [soon, last, april]  # 30 days: 1 April
    assert activities.upcoming(session, TODAY, 29) == [soon, last]
    assert activities.upcoming(session, TODAY, 7) == []


def test_logged_as_it_happened_postponed_or_cancelled_with_no_reminders(session):
    postponed = activities.log_activity(
        session,
        authority=authorities.resolve(session, "wrexham"),
        service=Service.ADULTS,
        when=When(D(2020, 2, 4), D(2020, 2, 4)),
        title="focused activity",
        details=None,
        inspectors=[],
        actor="U0ME",
        channel_id="G0REVIEW",
        today=TODAY,
        now=NOW,
        status=ActivityStatus.POSTPONED,
        reason=" COVID-19 ",
    )
    assert (postponed.status, postponed.status_reason) == (ActivityStatus.POSTPONED, "COVID-19")
    entry = session.scalars(select(HistoryEntry).where(HistoryEntry.subject_id == "1")).one()
    assert entry.reason == "COVID-19" and entry.changes["status"] == "postponed"
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0
    with pytest.raises(ValueError):
        activities.log_activity(
            session,
            authority=authorities.resolve(session, "wrexham"),
            service=Service.ADULTS,
            when=When(TODAY, TODAY),
            title="x",
            details=None,
            inspectors=[],
            actor="U0ME",
            channel_id=None,
            today=TODAY,
            now=NOW,
            status=ActivityStatus.COMPLETED,
        )


def test_editing_an_activity_keeps_history_and_moves_its_reminders(session):
    activity = log(session, When(D(2020, 4, 20), D(2020, 4, 20)))
    due = sorted(
        d.due_at for d in session.scalars(select(Delivery).where(Delivery.cancelled_at.is_(None)))
    )
    assert due
    old = activities.edit_activity(
        session, activity, "dates", When(D(2020, 5, 18), D(2020, 5, 19)), actor="U0ME", now=NOW
    )
    assert old == "Mon 20 Apr 2020"
    moved = sorted(
        d.due_at for d in session.scalars(select(Delivery).where(Delivery.cancelled_at.is_(None)))
    )
    assert moved and min(moved) > max(due)
    assert activity.status is ActivityStatus.SCHEDULED
    # No announcement: a correction is not a reschedule.
    assert not session.scalars(select(Delivery).where(Delivery.kind == "announce")).all()
    assert activities.edit_activity(session, activity, "details", None, actor="U0ME", now=NOW) == ""
    with pytest.raises(UserError):
        activities.edit_activity(session, activity, "title", "x" * 501, actor="U0ME", now=NOW)
    actions = session.scalars(
        select(HistoryEntry.action).where(HistoryEntry.subject == "activity")
    ).all()
    assert actions == ["logged", "edited dates", "edited details"]
