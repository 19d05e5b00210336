"""Working days in Wales: weekends and Welsh bank holidays skipped."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.reminders.workdays import add_working_days, is_working_day, working_days_before

D = dt.date


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2020, 3, 2), True),  # a Monday
        (D(2020, 3, 7), False),  # Saturday
        (D(2020, 3, 8), False),  # Sunday
        (D(2020, 4, 10), False),  # Good Friday 2020
        (D(2020, 4, 13), False),  # Easter Monday 2020
        (D(2020, 4, 14), True),
        (D(2020, 5, 8), False),  # early May bank holiday, moved to VE Day in 2020
        (D(2020, 5, 4), True),  # the usual first Monday of May was a working day in 2020
        (D(2020, 5, 25), False),  # spring bank holiday
        (D(2020, 8, 31), False),  # summer bank holiday (England and Wales)
        (D(2019, 12, 25), False),
        (D(2019, 12, 26), False),
        (D(2020, 12, 28), False),  # Boxing Day substitute
        (D(2020, 1, 1), False),
        (D(2020, 1, 2), True),  # a Scottish holiday, not a Welsh one
        (D(2020, 3, 17), True),  # St Patrick's Day: Northern Ireland only
        (D(2020, 3, 2), True),
    ],
)
def test_welsh_working_days(day, working):
    assert is_working_day(day) is working


def test_spec_worked_example_around_easter_2020():
    # An activity on Monday 20 April 2020: reminded on Thursday 9 and Friday 17 April.
    assert working_days_before(D(2020, 4, 20), 5) == D(2020, 4, 9)
    assert working_days_before(D(2020, 4, 20), 1) == D(2020, 4, 17)


def test_counting_forwards_skips_the_may_bank_holiday():
    assert add_working_days(D(2020, 5, 7), 1) == D(2020, 5, 11)
    assert add_working_days(D(2020, 3, 6), 10) == D(2020, 3, 20)


def test_zero_days_is_the_same_day():
    assert add_working_days(D(2020, 3, 7), 0) == D(2020, 3, 7)
