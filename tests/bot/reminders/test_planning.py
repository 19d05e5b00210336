"""Reminders planned in the ledger and sent by the clock: dates, moves, postponements, drafts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.records import activities
from bot.records.dates import parse_when
from bot.reminders import clock, planning
from db.models import Activity, Authority, Delivery, Draft, DraftVersion, Review, Service

LONDON = ZoneInfo("Europe/London")
INSPECTORS = ("U0INSPECT", "U0OTHER")
CHANNEL = "G0REVIEW"


def office(iso: str) -> dt.datetime:
    """An office (Europe/London) wall-clock time, as UTC."""
    return dt.datetime.fromisoformat(iso).replace(tzinfo=LONDON).astimezone(dt.UTC)


def log(
    runtime,
    when: str,
    *,
    now: str = "2020-03-02T10:00",
    inspectors=INSPECTORS,
    channel: str | None = CHANNEL,
    title: str = "performance review meeting",
) -> int:
    """Log an activity as /ciw log-activity would; its id."""
    moment = office(now)
    with runtime.transaction() as session:
        authority = session.scalar(select(Authority).where(Authority.slug == "wrexham"))
        activity = activities.log_activity(
            session,
            authority=authority,
            service=Service.CHILDREN,
            when=parse_when(when),
            title=title,
            details=None,
            inspectors=list(inspectors),
            actor=inspectors[0],
            channel_id=channel,
            today=moment.astimezone(LONDON).date(),
            now=moment,
        )
        return activity.id


def move(
    runtime,
    activity_id: int,
    action: str,
    *,
    now: str,
    when: str | None = None,
    reason: str | None = None,
) -> None:
    """Reschedule, postpone, cancel or complete an activity as the lifecycle commands do."""
    moment = office(now)
    with runtime.transaction() as session:
        activity = activities.get_activity(session, activity_id)
        common = {"actor": "U0INSPECT", "now": moment}
        if action == "reschedule":
            activities.reschedule(
                session,
                activity,
                parse_when(when),
                reason=reason,
                today=moment.astimezone(LONDON).date(),
                **common,
            )
        elif action == "complete":
            activities.complete(session, activity, **common)
        else:
            getattr(activities, action)(session, activity, reason=reason, **common)


def pending(runtime) -> list[tuple[str, str, dt.datetime]]:
    """(kind, channel, due in office time) of every delivery still owed, by due time."""
    with runtime.transaction() as session:
        rows = session.scalars(
            select(Delivery)
            .where(Delivery.sent_at.is_(None), Delivery.cancelled_at.is_(None))
            .order_by(Delivery.due_at, Delivery.channel)
        ).all()
        return [(d.kind, d.channel, d.due_at.astimezone(LONDON).replace(tzinfo=None)) for d in rows]


def due_times(runtime) -> list[dt.datetime]:
    return sorted({due for _, _, due in pending(runtime)})


def tick(runtime, iso: str) -> clock.TickReport:
    return clock.run_once(runtime, office(iso))


def posts(slack) -> list:
    return slack.of("chat.postMessage")


def test_worked_example_easter_2020(runtime, slack):
    """SPEC: Monday 20 April 2020 10:00 → Thursday 9 April and Friday 17 April, 09:00 BST."""
    activity_id = log(runtime, "2020-04-20T10:00")
    assert due_times(runtime) == [dt.datetime(2020, 4, 9, 9, 0), dt.datetime(2020, 4, 17, 9, 0)]
    # One delivery per recipient: a DM to each inspector and the channel it was logged in.
    assert {c for _, c, _ in pending(runtime)} == {"U0INSPECT", "U0OTHER", CHANNEL}

    assert tick(runtime, "2020-04-09T08:59").sent == 0
    report = tick(runtime, "2020-04-09T09:00")
    assert (report.sent, report.failed) == (3, 0)
    sent = posts(slack)
    assert sorted(c.get("channel") for c in sent) == sorted([*INSPECTORS, CHANNEL])
    text = sent[0].get("text")
    assert f"A{activity_id}" in text
    assert "starts in 5 working days" in text
    assert "Mon 20 Apr 2020 10:00" in text
    assert "Wrexham" in text
    assert "review year 2020-21".lower() in text.lower()
    actions = next(b for b in sent[0].get("blocks") if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [
        "reminder_done",
        "reminder_snooze",
        "reminder_list",
    ]

    # The same moment again (a restart, a second tick): nothing twice.
    assert tick(runtime, "2020-04-09T09:00").sent == 0
    assert tick(runtime, "2020-04-16T09:00").sent == 0
    assert tick(runtime, "2020-04-17T09:00").sent == 3
    assert "starts on the next working day" in posts(slack)[-1].get("text")
    assert len(posts(slack)) == 6
    assert pending(runtime) == []


def test_reminder_times_are_09_00_office_time_in_gmt_too(runtime):
    log(runtime, "2020-03-16")  # a Monday, in GMT
    # 5 working days before: Monday 9 March; 1 working day before: Friday 13 March.
    assert due_times(runtime) == [dt.datetime(2020, 3, 9, 9, 0), dt.datetime(2020, 3, 13, 9, 0)]
    with runtime.transaction() as session:
        utc = {d.due_at for d in session.scalars(select(Delivery))}
    assert utc == {
        dt.datetime(2020, 3, 9, 9, tzinfo=dt.UTC),
        dt.datetime(2020, 3, 13, 9, tzinfo=dt.UTC),
    }


def test_weekends_are_skipped(runtime, slack):
    log(runtime, "2020-03-18")  # a Wednesday: the 5-day reminder crosses a weekend
    assert due_times(runtime) == [dt.datetime(2020, 3, 11, 9, 0), dt.datetime(2020, 3, 17, 9, 0)]
    assert tick(runtime, "2020-03-14T09:00").sent == 3  # the Wednesday's, late: clock was down
    assert tick(runtime, "2020-03-15T09:00").sent == 0  # Sunday: nothing


def test_may_2020_bank_holiday_moved_to_friday_8_may(runtime, slack):
    log(runtime, "2020-05-11")  # Monday after the VE Day bank holiday
    # 1 working day before is Thursday 7 May (Friday 8 May is a bank holiday);
    # 5 working days before is Friday 1 May (4–7 May count, 8 May does not).
    assert due_times(runtime) == [dt.datetime(2020, 5, 1, 9, 0), dt.datetime(2020, 5, 7, 9, 0)]
    assert tick(runtime, "2020-05-08T09:00").sent == 3  # the 7 May ones (clock down)...
    assert "next working day" in posts(slack)[-1].get("text")  # ...and said as it is now


def test_reminders_already_past_when_logged_are_not_planned(runtime):
    # Logged on Thursday 16 April for Monday 20 April: only the 1-working-day one is ahead.
    log(runtime, "2020-04-20T10:00", now="2020-04-16T15:00")
    assert due_times(runtime) == [dt.datetime(2020, 4, 17, 9, 0)]
    # Logged on Friday 17 April after 09:00: both are past, none is planned.
    log(runtime, "2020-04-20T14:00", now="2020-04-17T09:30")
    assert due_times(runtime) == [dt.datetime(2020, 4, 17, 9, 0)]


def test_dm_channel_gets_no_channel_post(runtime):
    log(runtime, "2020-04-20", channel="D0DIRECT", inspectors=("U0INSPECT",))
    assert {c for _, c, _ in pending(runtime)} == {"U0INSPECT"}


def test_reschedule_announces_and_moves_reminders(runtime, slack):
    from handlers.slack import deliveries

    activity_id = log(runtime, "2020-04-20T10:00")
    move(
        runtime,
        activity_id,
        "reschedule",
        now="2020-03-03T11:00",
        when="2020-04-27T10:00",
        reason="director unavailable",
    )
    # Announced at once (due now) to the same three conversations.
    runtime.clock = lambda: office("2020-03-03T11:00")
    assert deliveries.send_pending(runtime) == 3
    announced = posts(slack)
    assert sorted(c.get("channel") for c in announced) == sorted([*INSPECTORS, CHANNEL])
    text = announced[0].get("text")
    assert f"A{activity_id} rescheduled" in text
    assert "Mon 20 Apr 2020 10:00" in text and "Mon 27 Apr 2020 10:00" in text
    assert "director unavailable" in text
    # Reminders follow the new date (Mon 20 Apr and Fri 24 Apr); the old ones are cancelled.
    assert due_times(runtime) == [dt.datetime(2020, 4, 20, 9, 0), dt.datetime(2020, 4, 24, 9, 0)]
    assert tick(runtime, "2020-04-09T09:00").sent == 0
    assert tick(runtime, "2020-04-17T09:00").sent == 0
    assert tick(runtime, "2020-04-20T09:00").sent == 3
    assert "Mon 27 Apr 2020 10:00" in posts(slack)[-1].get("text")


def test_reschedule_back_to_the_old_date_revives_its_reminders(runtime):
    activity_id = log(runtime, "2020-04-20T10:00")
    move(runtime, activity_id, "reschedule", now="2020-03-03T11:00", when="2020-04-27T10:00")
    move(runtime, activity_id, "reschedule", now="2020-03-04T11:00", when="2020-04-20T10:00")
    reminders_due = [due for kind, _, due in pending(runtime) if kind == "reminder"]
    assert sorted(set(reminders_due)) == [dt.datetime(2020, 4, 9, 9), dt.datetime(2020, 4, 17, 9)]
    assert len(reminders_due) == 6


def test_cancel_announces_and_stops_reminders(runtime, slack):
    activity_id = log(runtime, "2020-04-20T10:00")
    move(runtime, activity_id, "cancel", now="2020-03-03T11:00", reason="merged with A2")
    report = tick(runtime, "2020-03-03T11:00")
    assert report.sent == 3
    assert "cancelled" in posts(slack)[0].get("text")
    assert "merged with A2" in posts(slack)[0].get("text")
    assert pending(runtime) == []
    assert tick(runtime, "2020-04-09T09:00").sent == 0
    assert tick(runtime, "2020-04-17T09:00").sent == 0
    assert len(posts(slack)) == 3


def test_complete_and_remove_stop_reminders(runtime, slack):
    done = log(runtime, "2020-04-20T10:00")
    gone = log(runtime, "2020-04-21T10:00")
    move(runtime, done, "complete", now="2020-03-03T11:00")
    with runtime.transaction() as session:
        activities.remove(
            session,
            activities.get_activity(session, gone),
            actor="U0INSPECT",
            now=office("2020-03-03T11:00"),
        )
    assert pending(runtime) == []
    assert tick(runtime, "2020-04-20T09:00").sent == 0
    assert posts(slack) == []  # completing is not announced


def test_postponed_activity_is_raised_every_10_working_days(runtime, slack):
    activity_id = log(runtime, "2020-03-20T10:00")
    move(runtime, activity_id, "postpone", now="2020-03-03T11:00", reason="COVID-19")
    assert tick(runtime, "2020-03-03T11:00").sent == 3  # the announcement
    assert "postponed" in posts(slack)[-1].get("text")
    # Tuesday 3 March + 10 working days = Tuesday 17 March, 09:00.
    assert due_times(runtime) == [dt.datetime(2020, 3, 17, 9, 0)]
    assert tick(runtime, "2020-03-16T09:00").sent == 0
    assert tick(runtime, "2020-03-17T09:00").sent == 3
    raised = posts(slack)[-1].get("text")
    assert "still postponed" in raised and f"A{activity_id}" in raised and "COVID-19" in raised
    # Each one sent plans the next: Tuesday 31 March (no holidays in between).
    assert due_times(runtime) == [dt.datetime(2020, 3, 31, 9, 0)]
    assert tick(runtime, "2020-03-31T09:00").sent == 3
    # Across Easter: 31 March + 10 working days skips Good Friday and Easter Monday.
    assert due_times(runtime) == [dt.datetime(2020, 4, 16, 9, 0)]
    # Rescheduling ends the chain and plans ordinary reminders.
    move(runtime, activity_id, "reschedule", now="2020-04-01T10:00", when="2020-05-11")
    assert [k for k, _, _ in pending(runtime) if k == "postponed"] == []
    assert due_times(runtime)[-2:] == [dt.datetime(2020, 5, 1, 9), dt.datetime(2020, 5, 7, 9)]


def test_postponed_then_cancelled_stops_the_chain(runtime, slack):
    activity_id = log(runtime, "2020-03-20T10:00")
    move(runtime, activity_id, "postpone", now="2020-03-03T11:00")
    move(runtime, activity_id, "cancel", now="2020-03-05T11:00", reason="no longer needed")
    assert [k for k, _, _ in pending(runtime)] == ["announce"] * 6
    assert tick(runtime, "2020-03-17T09:00").sent == 6
    assert tick(runtime, "2020-04-30T09:00").sent == 0


def test_missed_reminder_goes_out_when_the_clock_is_back(runtime, slack):
    log(runtime, "2020-04-20T10:00")
    # No clock ran on 9 April; it comes back on Tuesday 14 April.
    report = tick(runtime, "2020-04-14T12:00")
    assert report.sent == 3
    assert "starts in 4 working days" in posts(slack)[-1].get("text")
    # Back only after both of 27 April's were due: the later one alone goes, the earlier
    # is dropped; 20 April's 1-day ones are dropped too, as that activity has begun.
    log(runtime, "2020-04-27T10:00", title="improvement conference")
    report = tick(runtime, "2020-04-24T12:00")
    assert (report.sent, report.dropped) == (3, 6)
    assert "improvement conference" in posts(slack)[-1].get("text")
    assert "next working day" in posts(slack)[-1].get("text")
    # Never after the activity has begun.
    log(runtime, "2020-05-20", title="focused activity")
    report = tick(runtime, "2020-05-21T09:00")
    assert (report.sent, report.dropped) == (0, 6)


def test_draft_nudge_after_2_working_days(runtime, slack):
    now = office("2020-04-09T15:00")  # Thursday before Easter
    with runtime.transaction() as session:
        authority = session.scalar(select(Authority).where(Authority.slug == "wrexham"))
        draft = Draft(
            authority=authority,
            review_year=2019,
            channel_id=CHANNEL,
            thread_ts="111.222",
            created_by="U0INSPECT",
            created_at=now,
        )
        version = DraftVersion(
            draft=draft, number=1, body="Dear", created_by="U0INSPECT", created_at=now
        )
        session.add_all([draft, version])
        session.flush()
        planning.draft_posted(session, draft, version, now=now)
        draft_id = draft.id
    # 2 working days after Thursday 9 April: Good Friday and Easter Monday skipped → Wed 15.
    assert pending(runtime) == [("draft-nudge", CHANNEL, dt.datetime(2020, 4, 15, 15, 0))]
    assert tick(runtime, "2020-04-15T14:59").sent == 0
    assert tick(runtime, "2020-04-15T15:00").sent == 1
    nudge = posts(slack)[-1]
    assert nudge.get("channel") == CHANNEL and nudge.get("thread_ts") == "111.222"
    assert "Wrexham" in nudge.get("text") and "version 1" in nudge.get("text")

    # A new version re-plans; a decision stops it.
    later = office("2020-04-16T10:00")
    with runtime.transaction() as session:
        draft = session.get(Draft, draft_id)
        version = DraftVersion(
            draft=draft, number=2, body="Dear", created_by="U0INSPECT", created_at=later
        )
        session.add(version)
        session.flush()
        planning.draft_posted(session, draft, version, now=later)
    assert pending(runtime) == [("draft-nudge", CHANNEL, dt.datetime(2020, 4, 20, 10, 0))]
    with runtime.transaction() as session:
        draft = session.get(Draft, draft_id)
        session.add(
            Review(
                version_id=draft.versions[-1].id, user_id="U0REVIEW", decision="approve", at=later
            )
        )
        planning.draft_decided(session, draft, now=later)
    assert pending(runtime) == []
    assert tick(runtime, "2020-04-21T10:00").sent == 0


def test_reminder_says_where_in_the_review_year(runtime, slack):
    log(runtime, "2020-06-29")
    tick(runtime, "2020-06-26T09:00")
    assert "quarter 2" not in posts(slack)[-1].get("text")
    assert "quarter 1" in posts(slack)[-1].get("text")
    with runtime.transaction() as session:
        assert session.scalar(select(Activity.status)).value == "scheduled"


def test_long_reminder_text_is_cut_between_words_and_never_inside_an_entity():
    from handlers.slack.limits import check
    from handlers.slack.reminder_blocks import sections

    text = "x" * 2990 + " fish &amp; chips " + "word " * 1000
    blocks = sections(text)
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
    assert blocks[0]["text"]["text"].endswith("fish") and blocks[1]["text"]["text"].startswith(
        "&amp; chips"
    )
    assert " ".join(b["text"]["text"] for b in blocks).split() == text.split()
    assert check("chat.postMessage", {"channel": "G1", "text": "t", "blocks": blocks}) == []
