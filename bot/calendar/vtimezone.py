"""A calendar feed's VTIMEZONE, written from the zone's own changes of offset (zoneinfo).

RFC 5545 §3.6.5: an observance's DTSTART is the local time of its onset reckoned in the
offset in use before it (its TZOFFSETFROM). British Summer Time begins at 01:00 GMT
(DTSTART …T010000, TZOFFSETFROM +0000) and ends at 02:00 BST (…T020000, +0100).
icalendar's `Timezone.from_tzid` writes the wall time after the change instead, 02:00
for the first, and every other reader (ical.js, vobject, dateutil) then starts summer
time an hour late.

The zone's changes from the one in force on 1 January of the first year asked for to
the end of the last are found a day at a time, then to the second. Those that repeat
every year up to the last (the zone's rule now, "the last Sunday of March at 01:00") are
one observance with an RRULE; any other is a dated onset (RDATE), so no RRULE needs an
UNTIL.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

_DAY = 86_400
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_LOOK_BACK = 2  # years searched for the change in force on 1 January of the first year


@dataclass(frozen=True)
class Onset:
    """A change of the zone's offset, name or daylight saving."""

    at: dt.datetime  # the instant, in UTC
    local: dt.datetime  # its wall-clock time in the offset before it: the DTSTART
    before: dt.timedelta
    after: dt.timedelta
    name: str
    daylight: bool


def _state(zone: ZoneInfo, timestamp: int) -> tuple[dt.timedelta, dt.timedelta, str]:
    local = dt.datetime.fromtimestamp(timestamp, zone)
    return local.utcoffset(), local.dst(), local.tzname()  # type: ignore[return-value]


def onsets(zone: ZoneInfo, first_year: int, last_year: int) -> list[Onset]:
    """Every change of the zone from 1 January of first_year to the end of last_year (local)."""
    start = int(dt.datetime(first_year, 1, 1, tzinfo=zone).timestamp())
    end = int(dt.datetime(last_year + 1, 1, 1, tzinfo=zone).timestamp())
    found = []
    low, state = start, _state(zone, start)
    while low < end:
        high = min(low + _DAY, end)
        if _state(zone, high) == state:
            low = high
            continue
        while high - low > 1:  # the first second of the new state
            middle = (low + high) // 2
            if _state(zone, middle) == state:
                low = middle
            else:
                high = middle
        before, (after, dst, name) = state[0], _state(zone, high)
        at = dt.datetime.fromtimestamp(high, dt.UTC)
        # Forward is summer time (Europe/Dublin's winter is a negative saving in zoneinfo).
        daylight = after > before if after != before else dst > dt.timedelta(0)
        found.append(Onset(at, (at + before).replace(tzinfo=None), before, after, name, daylight))
        low, state = high, (after, dst, name)
    return found


def _day_rules(day: dt.date) -> set[tuple[str, str]]:
    """The yearly rules that name this day of its month: last Sunday, second Sunday, the 25th."""
    weekday = _WEEKDAYS[day.weekday()]
    length = calendar.monthrange(day.year, day.month)[1]
    return {
        ("BYDAY", f"-{(length - day.day) // 7 + 1}{weekday}"),
        ("BYDAY", f"{(day.day - 1) // 7 + 1}{weekday}"),
        ("BYMONTHDAY", str(day.day)),
    }


def _rule(run: list[Onset]) -> tuple[str, str] | None:
    rules = _day_rules(run[0].local.date())
    for onset in run[1:]:
        rules &= _day_rules(onset.local.date())
    # From the end of the month first ("-1SU"), as most zones' rules are written.
    return min(
        rules, key=lambda rule: (rule[0] != "BYDAY", not rule[1].startswith("-")), default=None
    )


def _yearly_tail(items: list[Onset], last_year: int) -> tuple[list[Onset], tuple[str, str] | None]:
    """The onsets at the end of `items`, one a year up to last_year, that one RRULE gives."""
    if not items or items[-1].local.year != last_year:
        return [], None
    run, rule = [items[-1]], None
    for onset in reversed(items[:-1]):
        first = run[0].local
        same = (onset.local.month, onset.local.time()) == (first.month, first.time())
        shared = _rule([onset, *run])
        if not same or onset.local.year != first.year - 1 or shared is None:
            break
        run, rule = [onset, *run], shared
    return (run, rule) if rule else ([], None)


def _observance(daylight: bool, before: dt.timedelta, after: dt.timedelta, name: str):  # type: ignore[no-untyped-def]
    part = TimezoneDaylight() if daylight else TimezoneStandard()
    part.add("tzname", name)
    part.add("tzoffsetfrom", before)
    part.add("tzoffsetto", after)
    return part


@functools.lru_cache(maxsize=64)
def vtimezone(zone: ZoneInfo, first_year: int, last_year: int) -> Timezone:
    """The zone's VTIMEZONE for events from first_year to last_year (shared: not to be changed).

    It begins with the change that made the zone's time on 1 January of first_year, when
    there was one in the two years before.
    """
    component = Timezone()
    component.add("tzid", zone.key)
    start = dt.datetime(first_year, 1, 1, tzinfo=zone)
    changes = onsets(zone, first_year - _LOOK_BACK, last_year)
    earlier = [onset for onset in changes if onset.at <= start]
    changes = changes[len(earlier) - 1 :] if earlier else changes
    if not earlier:
        offset, dst, name = _state(zone, int(start.timestamp()))
        daylight = dst > dt.timedelta(0)
        # No change in the two years before: an observance of its own from 1 January. A
        # reader (dateutil) takes a DAYLIGHT one's saving to be TZOFFSETTO - TZOFFSETFROM.
        initial = _observance(daylight, offset - dst if daylight else offset, offset, name)
        initial.add("dtstart", start.replace(tzinfo=None))
        component.add_component(initial)
    kinds: dict[tuple[bool, dt.timedelta, dt.timedelta, str], list[Onset]] = defaultdict(list)
    for onset in changes:
        kinds[(onset.daylight, onset.before, onset.after, onset.name)].append(onset)
    for kind, items in kinds.items():
        tail, rule = _yearly_tail(items, last_year)
        dated = items[: len(items) - len(tail)]
        if dated:
            part = _observance(*kind)
            part.add("dtstart", dated[0].local)
            if dated[1:]:
                part.add("rdate", [onset.local for onset in dated[1:]])
            component.add_component(part)
        if rule:
            part = _observance(*kind)
            part.add("dtstart", tail[0].local)
            by, value = rule
            part.add("rrule", {"FREQ": "YEARLY", "BYMONTH": tail[0].local.month, by: value})
            component.add_component(part)
    return component
