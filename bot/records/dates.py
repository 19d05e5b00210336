"""Dates as inspectors type them and as the letter writes them; review years."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.errors import UserError

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_YEAR = re.compile(r"^(\d{4})-(\d{2}|\d{4})$")

DATE_FORMS = "YYYY-MM-DD or DD/MM/YYYY"


def parse_date(text: str) -> dt.date:
    """A date written `YYYY-MM-DD` or `DD/MM/YYYY`; UserError for anything else."""
    text = text.strip()
    iso, uk = _ISO.match(text), _UK.match(text)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
    elif uk:
        day, month, year = (int(g) for g in uk.groups())
    else:
        raise UserError("bad_date", value=text)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise UserError("impossible_date", value=text) from None


@dataclass(frozen=True)
class When:
    """The dates (and optional start time, office time) of an activity."""

    start: dt.date
    end: dt.date
    time: dt.time | None = None


def looks_like_when(token: str) -> bool:
    """Whether a word is meant as a date or a range (so it is not taken as a title)."""
    return bool(re.match(r"^\d{1,4}[-/]\d", token))


def parse_when(text: str) -> When:
    """`DATE`, `DATE..DATE`, with an optional `THH:MM` on the first date."""
    text = text.strip()
    first, sep, second = text.partition("..")
    if sep and not (first.strip() and second.strip()):
        raise UserError("bad_range", value=text)
    time = None
    if "T" in first.upper():
        first, _, clock = first.upper().partition("T")
        match = _TIME.match(clock)
        if not match:
            raise UserError("bad_time", value=clock or text)
        time = dt.time(int(match.group(1)), int(match.group(2)))
    start = parse_date(first)
    end = parse_date(second) if sep else start
    if end < start:
        raise UserError("end_before_start", start=start, end=end)
    return When(start, end, time)


@dataclass(frozen=True, order=True)
class ReviewYear:
    """A review year, 1 April to 31 March, named by the year it starts in."""

    start_year: int

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.start_year, 4, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.start_year + 1, 3, 31)

    @property
    def label(self) -> str:
        """`2019-20`."""
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    @property
    def long_label(self) -> str:
        """`2019-2020`."""
        return f"{self.start_year}-{self.start_year + 1}"

    @property
    def period(self) -> str:
        """`April 2019 - March 2020`, as the letter's subject writes it."""
        return f"April {self.start_year} - March {self.start_year + 1}"

    def next(self) -> ReviewYear:
        return ReviewYear(self.start_year + 1)

    def previous(self) -> ReviewYear:
        """The year before: the one whose areas for improvement this year reports on."""
        return ReviewYear(self.start_year - 1)

    def contains(self, day: dt.date) -> bool:
        return self.first_day <= day <= self.last_day

    @classmethod
    def of(cls, day: dt.date) -> ReviewYear:
        """The review year a date falls in."""
        return cls(day.year if day.month >= 4 else day.year - 1)

    @classmethod
    def last_ended(cls, today: dt.date) -> ReviewYear:
        """The most recent review year that has ended by `today`."""
        return cls(cls.of(today).start_year - 1)

    def __str__(self) -> str:
        return self.label


def looks_like_year(token: str) -> bool:
    """Whether a word is meant as a review year (`2019-20`, `2019-2020`)."""
    return bool(_YEAR.match(token.strip()))


def parse_year(text: str) -> ReviewYear:
    """`2019-20` or `2019-2020`; UserError for `2019-21` and other impossible years."""
    match = _YEAR.match(text.strip())
    if not match:
        raise UserError("bad_year", value=text)
    first, second = int(match.group(1)), match.group(2)
    expected = f"{(first + 1) % 100:02d}" if len(second) == 2 else str(first + 1)
    if second != expected or not 1900 <= first <= 2200:
        raise UserError("bad_year", value=text)
    return ReviewYear(first)


def letter_date(day: dt.date) -> str:
    """`3 August 2020`."""
    return f"{day.day} {day:%B %Y}"


def dated(day: dt.date) -> str:
    """The date a letter is dated, as the reference writes it: `03 August 2020`."""
    return f"{day:%d %B %Y}"


# The months as a Welsh letter writes them (no mutation after a numeral: `3 Rhagfyr 2026`).
WELSH_MONTHS = (
    "Ionawr",
    "Chwefror",
    "Mawrth",
    "Ebrill",
    "Mai",
    "Mehefin",
    "Gorffennaf",
    "Awst",
    "Medi",
    "Hydref",
    "Tachwedd",
    "Rhagfyr",
)


def welsh_date(day: dt.date) -> str:
    """The date a Welsh letter is dated: `3 Rhagfyr 2026`."""
    return f"{day.day} {WELSH_MONTHS[day.month - 1]} {day.year}"


def letter_dates(start: dt.date, end: dt.date) -> str:
    """A span as the letter writes it: `24 and 25 September 2019`, `3 to 5 March 2020`."""
    if start == end:
        return letter_date(start)
    if start.year != end.year:
        return f"{letter_date(start)} to {letter_date(end)}"
    if start.month != end.month:
        return f"{start.day} {start:%B} to {letter_date(end)}"
    joiner = "and" if (end - start).days == 1 else "to"
    return f"{start.day} {joiner} {letter_date(end)}"


def short_dates(start: dt.date, end: dt.date, time: dt.time | None = None) -> str:
    """Dates for lists and reminders: `Mon 20 Apr 2020 10:00`, `24–25 Sep 2019`."""
    first = f"{start:%a} {start.day} {start:%b %Y}"
    if time:
        first += f" {time:%H:%M}"
    if start == end:
        return first
    return f"{first} to {end:%a} {end.day} {end:%b %Y}"
