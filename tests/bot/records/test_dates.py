"""Dates as inspectors type them, review years, and dates as the letter writes them."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import UserError
from bot.records.dates import (
    ReviewYear,
    When,
    letter_date,
    letter_dates,
    looks_like_year,
    parse_date,
    parse_when,
    parse_year,
    short_dates,
)

D = dt.date


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2019-09-24", D(2019, 9, 24)),
        ("24/09/2019", D(2019, 9, 24)),
        ("2019-9-4", D(2019, 9, 4)),
        ("4/9/2019", D(2019, 9, 4)),
        (" 2020-02-29 ", D(2020, 2, 29)),
        ("29/02/2000", D(2000, 2, 29)),
    ],
)
def test_dates_in_both_forms(typed, expected):
    assert parse_date(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "2019-02-30",
        "30/02/2019",
        "2019-02-29",
        "1900-02-29",
        "2019-13-01",
        "31/04/2020",
        "2019-00-10",
    ],
)
def test_impossible_dates_are_refused_as_such(typed):
    with pytest.raises(UserError) as error:
        parse_date(typed)
    assert error.value.template == "impossible_date"
    assert error.value.data["value"] == typed


@pytest.mark.parametrize(
    "typed", ["", "tomorrow", "2019/09/24", "24-09-2019", "20190924", "09/24", "2019-09-24x"]
)
def test_other_words_are_not_dates(typed):
    with pytest.raises(UserError) as error:
        parse_date(typed)
    assert error.value.template == "bad_date"


def test_a_single_day_starts_and_ends_the_same_day():
    assert parse_when("2019-04-10") == When(D(2019, 4, 10), D(2019, 4, 10), None)


def test_ranges_join_two_dates_in_either_form():
    assert parse_when("2019-09-24..2019-09-25") == When(D(2019, 9, 24), D(2019, 9, 25))
    assert parse_when("30/09/2019..01/10/2019") == When(D(2019, 9, 30), D(2019, 10, 1))
    assert parse_when("2019-12-30..02/01/2020") == When(D(2019, 12, 30), D(2020, 1, 2))


def test_a_start_time_rides_on_the_first_date():
    assert parse_when("2020-04-20T10:00") == When(D(2020, 4, 20), D(2020, 4, 20), dt.time(10))
    assert parse_when("20/04/2020t09:30..2020-04-21").time == dt.time(9, 30)
    assert parse_when("2020-04-20T9:05").time == dt.time(9, 5)


@pytest.mark.parametrize(
    "typed",
    ["2020-04-20T25:00", "2020-04-20T10:60", "2020-04-20T", "2020-04-20T10", "2020-04-20Tnoon"],
)
def test_bad_times_are_refused(typed):
    with pytest.raises(UserError) as error:
        parse_when(typed)
    assert error.value.template == "bad_time"


def test_an_end_before_the_start_is_refused_with_both_dates():
    with pytest.raises(UserError) as error:
        parse_when("2019-09-25..2019-09-24")
    assert error.value.template == "end_before_start"
    assert error.value.data == {"start": D(2019, 9, 25), "end": D(2019, 9, 24)}


@pytest.mark.parametrize("typed", ["2019-09-24..", "..2019-09-24", ".."])
def test_half_ranges_are_refused(typed):
    with pytest.raises(UserError) as error:
        parse_when(typed)
    assert error.value.template == "bad_range"


def test_an_impossible_end_date_is_named():
    with pytest.raises(UserError) as error:
        parse_when("2019-02-27..2019-02-30")
    assert error.value.template == "impossible_date"
    assert error.value.data["value"] == "2019-02-30"


def test_leap_days():
    assert parse_when("2020-02-28..2020-03-01") == When(D(2020, 2, 28), D(2020, 3, 1))
    assert parse_date("2024-02-29") == D(2024, 2, 29)
    with pytest.raises(UserError):
        parse_date("2100-02-29")


# -- review years -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "start"),
    [("2019-20", 2019), ("2019-2020", 2019), ("1999-00", 1999), ("1999-2000", 1999)],
)
def test_review_years_parse(typed, start):
    assert parse_year(typed) == ReviewYear(start)


@pytest.mark.parametrize(
    "typed", ["2019-21", "2019-19", "2019-2021", "2019", "19-20", "2019/20", "20-2019", ""]
)
def test_impossible_review_years_are_refused(typed):
    with pytest.raises(UserError) as error:
        parse_year(typed)
    assert error.value.template == "bad_year"


def test_looks_like_year_tells_years_from_dates():
    assert looks_like_year("2019-21")  # refused later, but meant as a year
    assert looks_like_year("2019-2020")
    assert not looks_like_year("2019-09-24")
    assert not looks_like_year("people")


def test_review_year_labels_and_bounds():
    year = ReviewYear(2019)
    assert year.label == "2019-20" == str(year)
    assert year.long_label == "2019-2020"
    assert year.period == "April 2019 - March 2020"
    assert (year.first_day, year.last_day) == (D(2019, 4, 1), D(2020, 3, 31))
    assert year.next() == ReviewYear(2020)
    assert ReviewYear(1999).label == "1999-00"
    assert year.contains(D(2020, 3, 31)) and not year.contains(D(2020, 4, 1))


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (D(2019, 4, 1), 2019),
        (D(2020, 3, 31), 2019),
        (D(2020, 1, 15), 2019),
        (D(2020, 4, 1), 2020),
        (D(2019, 3, 31), 2018),
    ],
)
def test_the_year_a_day_falls_in(day, start):
    assert ReviewYear.of(day) == ReviewYear(start)


def test_the_last_year_that_has_ended():
    assert ReviewYear.last_ended(D(2020, 8, 3)) == ReviewYear(2019)
    assert ReviewYear.last_ended(D(2020, 4, 1)) == ReviewYear(2019)
    assert ReviewYear.last_ended(D(2020, 3, 31)) == ReviewYear(2018)


# -- as the letter writes them ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "written"),
    [
        (D(2019, 4, 10), D(2019, 4, 10), "10 April 2019"),
        (D(2019, 9, 24), D(2019, 9, 25), "24 and 25 September 2019"),
        (D(2020, 3, 3), D(2020, 3, 5), "3 to 5 March 2020"),
        (D(2019, 9, 30), D(2019, 10, 1), "30 September to 1 October 2019"),
        (D(2019, 12, 30), D(2020, 1, 2), "30 December 2019 to 2 January 2020"),
        (D(2019, 12, 31), D(2020, 1, 1), "31 December 2019 to 1 January 2020"),
        (D(2020, 2, 28), D(2020, 3, 1), "28 February to 1 March 2020"),
    ],
)
def test_letter_dates(start, end, written):
    assert letter_dates(start, end) == written


def test_letter_date_has_no_leading_zero():
    assert letter_date(D(2020, 8, 3)) == "3 August 2020"


def test_short_dates_for_lists():
    assert short_dates(D(2020, 4, 20), D(2020, 4, 20), dt.time(10)) == "Mon 20 Apr 2020 10:00"
    assert short_dates(D(2019, 9, 24), D(2019, 9, 25)) == "Tue 24 Sep 2019 to Wed 25 Sep 2019"
