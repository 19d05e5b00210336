"""The feed's VTIMEZONE, read by another parser (dateutil's tzical): every change of the
zone at the instant zoneinfo has it, which icalendar's `Timezone.from_tzid` misses."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil import tz as dateutil_tz

from bot.calendar.vtimezone import onsets, vtimezone

FIRST, LAST = 2016, 2028


def read_by_dateutil(component: icalendar.Timezone) -> dt.tzinfo:
    return dateutil_tz.tzical(io.StringIO(component.to_ical().decode())).get(str(component["TZID"]))


def test_london_summer_time_begins_at_1am_gmt_and_ends_at_2am_bst_every_last_sunday():
    written = vtimezone(ZoneInfo("Europe/London"), 2019, 2028).to_ical()
    component = icalendar.Timezone.from_ical(written)
    parts = {part.name: part for part in component.subcomponents}
    assert len(component.subcomponents) == 2
    summer, winter = parts["DAYLIGHT"], parts["STANDARD"]
    assert summer["DTSTART"].dt == dt.datetime(2019, 3, 31, 1, 0)
    assert (summer["TZOFFSETFROM"].td, summer["TZOFFSETTO"].td) == (
        dt.timedelta(0),
        dt.timedelta(hours=1),
    )
    assert dict(summer["RRULE"]) == {"FREQ": ["YEARLY"], "BYMONTH": [3], "BYDAY": ["-1SU"]}
    assert str(summer["TZNAME"]) == "BST"
    # The change in force on 1 January 2019 begins the winter's observance.
    assert winter["DTSTART"].dt == dt.datetime(2018, 10, 28, 2, 0)
    assert (winter["TZOFFSETFROM"].td, winter["TZOFFSETTO"].td) == (
        dt.timedelta(hours=1),
        dt.timedelta(0),
    )
    assert dict(winter["RRULE"]) == {"FREQ": ["YEARLY"], "BYMONTH": [10], "BYDAY": ["-1SU"]}
    assert str(winter["TZNAME"]) == "GMT"


def instants(zone: ZoneInfo) -> list[dt.datetime]:
    """Either side of every change (a second, half an hour, an hour, two), and every week."""
    around = [-7200, -3600, -1800, -1, 0, 1, 1800, 3600, 7200]
    near = [o.at + dt.timedelta(seconds=s) for o in onsets(zone, FIRST, LAST) for s in around]
    weekly = dt.datetime(FIRST, 1, 1, 12, tzinfo=dt.UTC)
    return near + [weekly + dt.timedelta(weeks=n) for n in range(52 * (LAST - FIRST + 1))]


@pytest.mark.parametrize(
    "key",
    [
        "Europe/London",
        "Europe/Dublin",  # winter is a negative saving in zoneinfo
        "America/New_York",  # the second Sunday of March
        "Australia/Sydney",  # summer across the new year
        "Australia/Lord_Howe",  # half an hour
        "America/Sao_Paulo",  # no summer time since 2019: dated changes, no RRULE
        "Asia/Tehran",  # fixed dates, none since 2022
        "Asia/Kolkata",  # no change at all
    ],
)
def test_another_reader_finds_every_change_where_zoneinfo_has_it(key):
    zone = ZoneInfo(key)
    read = read_by_dateutil(vtimezone(zone, FIRST, LAST))
    for instant in instants(zone):
        expected, found = instant.astimezone(zone), instant.astimezone(read)
        assert (found.replace(tzinfo=None), found.utcoffset()) == (
            expected.replace(tzinfo=None),
            expected.utcoffset(),
        ), instant
        # Back from the wall clock: the first of a repeated hour, as RFC 5545 reads it.
        wall = expected.replace(tzinfo=None)
        first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
        if first.utcoffset() == second.utcoffset() or expected.fold == 0:
            assert wall.replace(tzinfo=read).utcoffset() == expected.utcoffset(), instant
