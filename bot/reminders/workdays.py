"""Working days in Wales: weekends and the Welsh bank holidays are not working days."""

from __future__ import annotations

import datetime as dt
from functools import cache

import holidays


@cache
def _welsh_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv="WLS", years=[year])


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday and not a bank holiday in Wales."""
    return day.weekday() < 5 and day not in _welsh_holidays(day.year)


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The working day `count` working days after (count > 0) or before (count < 0) `day`."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        day += dt.timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_before(day: dt.date, count: int) -> dt.date:
    """The working day `count` working days before `day` (SPEC's reminder dates)."""
    return add_working_days(day, -count)
