"""The overview as a CSV file: its cells, its encoding, its name, and no cell a spreadsheet
would run; what `overview csv` owes the person in the outbox."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from bot.records.dates import ReviewYear
from bot.render import Templates
from bot.review import overview, overview_file
from db.models import Delivery
from db.session import session_factory, transaction

YEAR = ReviewYear(2019)
NOW = dt.datetime(2020, 8, 3, 9, 30, tzinfo=dt.UTC)


class Words:
    templates = Templates()


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+44 29 2000 0000", "'+44 29 2000 0000"),
        ("-2", "'-2"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Wrexham = 1", "Wrexham = 1"),
        ("", ""),
        (125, 125),
    ],
)
def test_a_cell_that_would_start_a_formula_is_made_inert(cell, shown):
    assert overview_file.inert(cell) == shown


def hostile() -> overview.Overview:
    letter = overview.Letter(
        overview.PUBLISHED, 2, dt.date(2020, 7, 1), "U0REVIEW", '=HYPERLINK("http://x","y")'
    )
    rows = [
        overview.Row(
            "wrexham", "@Wrexham", letter, overview.Activities(1, 2, 3, 4), 5, 6, 1, 2, None
        ),
        overview.Row(
            "cardiff",
            "Cardiff Council",
            overview.Letter(overview.NO_DRAFT),
            overview.Activities(),
            0,
            0,
            0,
            0,
            125,
        ),
    ]
    return overview.Overview(YEAR, dt.date(2020, 8, 3), 125, tuple(rows), overview._totals(rows))


def test_the_csv_has_a_header_a_row_an_authority_and_the_totals_and_runs_nothing():
    content = overview_file.csv_bytes(Words, hostile())
    assert content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(table) == 4
    header = table[0]
    assert len(header) == len(overview_file.COLUMNS)
    first = dict(zip(header, table[1], strict=True))
    assert first["Local authority"] == "'@Wrexham"
    assert first["Published at"] == '\'=HYPERLINK("http://x","y")'
    assert first["Letter"] == 'issued on 1 July 2020, published at =HYPERLINK("http://x","y")'
    assert (first["State"], first["Version"], first["Issued on"]) == (
        "published",
        "2",
        "2020-07-01",
    )
    assert (first["Scheduled"], first["Cancelled"], first["Strengths"]) == ("1", "4", "5")
    assert first["Days since the year ended (not issued)"] == ""
    second = dict(zip(header, table[2], strict=True))
    assert (
        second["Letter"],
        second["Version"],
        second["Days since the year ended (not issued)"],
    ) == (
        "no draft",
        "",
        "125",
    )
    totals = dict(zip(header, table[3], strict=True))
    assert totals["Local authority"] == "Total"
    assert totals["Letter"] == "1 of 2 issued (1 published)"
    assert totals["Days since the year ended (not issued)"] == "1"
    assert totals["Completed"] == "2" and totals["Last year's improvements"] == "2"
    assert not any(cell.startswith(overview_file.FORMULA_STARTS) for row in table for cell in row)


def test_the_file_is_named_after_its_year_and_day():
    assert (
        overview_file.filename(YEAR, dt.date(2020, 8, 3)) == "ciw-overview-2019-20-2020-08-03.csv"
    )


def test_asking_for_it_owes_the_person_one_file_of_the_year(engine):
    with transaction(session_factory(engine)) as session:
        for _ in range(2):
            overview_file.send(session, platform="teams", user_id="U0REVIEW", year=YEAR, now=NOW)
        rows = session.scalars(select(Delivery)).all()
    assert len(rows) == 2 and rows[0].key != rows[1].key  # each asking, a file of its own
    row = rows[0]
    assert (row.kind, row.channel, row.platform, row.action) == (
        overview_file.KIND,
        "U0REVIEW",
        "teams",
        "upload",
    )
    assert overview_file.year_of(row) == YEAR and row.due_at == NOW
