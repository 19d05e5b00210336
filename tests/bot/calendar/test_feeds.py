"""Calendar feeds on the domain: tokens, sequences, the one query, and the events' times."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil import tz as dateutil_tz
from sqlalchemy import event, select

from bot.calendar import feeds
from bot.records import activities, authorities
from bot.records.dates import When
from bot.render import Templates
from db.models import Activity, CalendarFeed, Service
from db.session import session_factory, transaction

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2020, 3, 2, 10, 0, tzinfo=dt.UTC)
TODAY = dt.date(2020, 3, 2)


@pytest.fixture
def session(engine):
    with transaction(session_factory(engine)) as session:
        yield session


def log(session, when: When, title: str = "meeting", inspectors=("U0ME",)) -> Activity:
    return activities.log_activity(
        session,
        authority=authorities.resolve(session, "wrexham"),
        service=Service.ADULTS,
        when=when,
        title=title,
        details="private details",
        inspectors=list(inspectors),
        actor=inspectors[0],
        channel_id="G0REVIEW",
        today=TODAY,
        now=NOW,
    )


def feed_events(session, token: str) -> list[icalendar.Event]:
    feed = feeds.load(session, token)
    body = feeds.render(feed, LONDON, Templates())
    return icalendar.Calendar.from_ical(body).walk("VEVENT")


def test_a_token_is_random_long_and_stored_only_as_its_hash(session):
    token = feeds.issue(session, user_id="U0ME", platform="slack", now=NOW)
    again = feeds.issue(session, user_id="U0ME", platform="slack", now=NOW)
    assert token != again and min(len(token), len(again)) >= 43
    [row] = session.scalars(select(CalendarFeed)).all()
    assert row.token_hash == feeds.token_hash(again) != again
    assert feeds.load(session, token) is None
    assert feeds.load(session, again).user_id == "U0ME"


def test_a_feed_is_one_query_however_many_activities(session, engine):
    token = feeds.issue(session, user_id="U0ME", platform="slack", now=NOW)
    for day in range(1, 29):
        log(session, When(dt.date(2020, 4, day), dt.date(2020, 4, day), None), f"visit {day}")
    session.flush()
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        feed = feeds.load(session, token)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(feed.entries) == 28 and len(statements) == 1
    assert "findings" not in statements[0] and "details" not in statements[0]


def test_any_change_to_what_a_feed_shows_raises_the_sequence(session):
    activity = log(session, When(dt.date(2020, 4, 20), dt.date(2020, 4, 20), None))
    session.flush()
    start = activity.sequence
    # Code that changes an activity without calling touched (an edit, say) still raises it.
    activity.title = "meeting with the director"
    session.flush()
    assert activity.sequence == start + 1
    # An explicit touched() in the same change raises it once, not twice.
    activity.start_date = activity.end_date = dt.date(2020, 4, 21)
    activities.touched(activity, now=NOW)
    session.flush()
    assert activity.sequence == start + 2
    # What no feed shows changes nothing.
    activity.details = "new details"
    session.flush()
    assert activity.sequence == start + 2


def test_events_times_all_day_ranges_and_timed(session):
    token = feeds.issue(session, user_id="U0ME", platform="slack", now=NOW)
    log(session, When(dt.date(2020, 3, 30), dt.date(2020, 4, 1), None), "three days")
    log(session, When(dt.date(2020, 4, 20), dt.date(2020, 4, 20), dt.time(10, 0)), "at ten")
    log(
        session,
        When(dt.date(2020, 10, 24), dt.date(2020, 10, 26), dt.time(9, 0)),
        "over the change",
    )
    log(session, When(dt.date(2020, 5, 1), dt.date(2020, 5, 1), None), "not mine", ("U0BEA",))
    session.flush()
    found = {str(e["SUMMARY"]).split(" — ")[0]: e for e in feed_events(session, token)}
    assert set(found) == {"three days", "at ten", "over the change"}
    days = found["three days"]
    assert (days.start, days.end) == (dt.date(2020, 3, 30), dt.date(2020, 4, 2))
    ten = found["at ten"]
    assert (ten.start, ten.end) == (
        dt.datetime(2020, 4, 20, 10, tzinfo=LONDON),
        dt.datetime(2020, 4, 20, 11, tzinfo=LONDON),
    )
    # Starts in BST, ends in GMT at the end of the office day on its last day.
    over = found["over the change"]
    assert over.start.astimezone(dt.UTC).hour == 8 and over.end.astimezone(dt.UTC).hour == 17
    assert all(str(e["DTSTAMP"].dt.tzinfo) == "UTC" for e in found.values())


def test_the_etag_changes_with_what_the_feed_shows(session):
    token = feeds.issue(session, user_id="U0ME", platform="slack", now=NOW)
    activity = log(session, When(dt.date(2020, 4, 20), dt.date(2020, 4, 20), None))
    session.flush()
    first = feeds.etag(feeds.load(session, token), LONDON)
    assert feeds.etag(feeds.load(session, token), LONDON) == first
    assert feeds.etag(feeds.load(session, token), ZoneInfo("Europe/Dublin")) != first
    activity.details = "what no feed shows"
    session.flush()
    assert feeds.etag(feeds.load(session, token), LONDON) == first
    activity.title = "renamed"
    session.flush()
    assert feeds.etag(feeds.load(session, token), LONDON) != first


# The last Sundays of March and October: clocks forward at 01:00 UTC, back at 01:00 UTC.
CHANGES = [
    (dt.date(2020, 3, 29), dt.date(2020, 10, 25)),
    (dt.date(2026, 3, 29), dt.date(2026, 10, 25)),
    (dt.date(2027, 3, 28), dt.date(2027, 10, 31)),
]


def read_by_dateutil(body: bytes) -> dt.tzinfo:
    """The feed's own VTIMEZONE as dateutil's parser reads it (not icalendar's, not zoneinfo)."""
    return dateutil_tz.tzical(io.StringIO(body.decode())).get("Europe/London")


def test_another_reader_of_the_feed_changes_the_clocks_at_1am_utc(session):
    token = feeds.issue(session, user_id="U0ME", platform="slack", now=NOW)
    for march, october in CHANGES:
        log(session, When(march, march, dt.time(10, 0)))
        log(session, When(october, october, dt.time(10, 0)))
    session.flush()
    london = read_by_dateutil(feeds.render(feeds.load(session, token), LONDON, Templates()))
    for march, october in CHANGES:
        # (UTC instant) -> (London's wall clock, offset in hours)
        expected = {
            (march, dt.time(0, 30)): (dt.time(0, 30), 0),
            (march, dt.time(0, 59, 59)): (dt.time(0, 59, 59), 0),
            (march, dt.time(1, 0)): (dt.time(2, 0), 1),
            (march, dt.time(1, 30)): (dt.time(2, 30), 1),
            (october, dt.time(0, 30)): (dt.time(1, 30), 1),
            (october, dt.time(0, 59, 59)): (dt.time(1, 59, 59), 1),
            (october, dt.time(1, 0)): (dt.time(1, 0), 0),
            (october, dt.time(1, 30)): (dt.time(1, 30), 0),
        }
        for (day, time), (wall, hours) in expected.items():
            instant = dt.datetime.combine(day, time, tzinfo=dt.UTC)
            local = instant.astimezone(london)
            assert (local.date(), local.time(), local.utcoffset()) == (
                day,
                wall,
                dt.timedelta(hours=hours),
            ), instant
            assert local.astimezone(dt.UTC) == instant


def at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def test_another_reader_of_the_feed_finds_its_events_at_the_right_instants(session):
    token = feeds.issue(session, user_id="U0ME", platform="slack", now=NOW)
    summer, winter = dt.date(2026, 7, 15), dt.date(2026, 1, 14)
    # (day, London time) -> the UTC instant
    expected = {
        (summer, dt.time(10, 0)): dt.datetime(2026, 7, 15, 9, 0, tzinfo=dt.UTC),
        (winter, dt.time(10, 0)): dt.datetime(2026, 1, 14, 10, 0, tzinfo=dt.UTC),
    }
    for march, october in CHANGES:
        expected[(march, dt.time(0, 30))] = at(march, 0, 30)
        expected[(march, dt.time(2, 30))] = at(march, 1, 30)
        expected[(october, dt.time(0, 30))] = at(october, 0, 30) - dt.timedelta(hours=1)
        # The hour that comes twice is its first, in summer time (RFC 5545 3.3.5).
        expected[(october, dt.time(1, 30))] = at(october, 0, 30)
        expected[(october, dt.time(2, 30))] = at(october, 2, 30)
    for number, (day, time) in enumerate(expected):
        log(session, When(day, day, time), f"visit {number}")
    session.flush()
    body = feeds.render(feeds.load(session, token), LONDON, Templates())
    london = read_by_dateutil(body)
    found = {}
    for vevent in icalendar.Calendar.from_ical(body).walk("VEVENT"):
        start = vevent["DTSTART"]
        assert start.params["TZID"] == "Europe/London"
        wall = start.dt.replace(tzinfo=None)  # the text as written: 20260715T100000
        found[(wall.date(), wall.time())] = wall.replace(tzinfo=london).astimezone(dt.UTC)
    assert found == expected
