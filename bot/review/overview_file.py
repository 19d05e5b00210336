"""The overview as a CSV file, and how it reaches the person who asked for it.

`/ciw overview [<year>] csv` queues one outbox row (kind `KIND`) addressed to the person,
holding only the year: each platform's sender makes the file when it sends it, from the
records as they are then (Slack uploads it into their direct message with the bot;
Teams, where a bot sends no file into a chat, posts a download link in their personal
chat, and the link makes the file again when it is opened, `bot.review.file_links`).
`ciw-bot overview --format csv` writes the same file.

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage
return before one) as a formula, so every text cell beginning so is prefixed with `'`
("CSV injection", OWASP): a published address someone typed is shown, never run. The
file is UTF-8 with a byte order mark, which Excel needs to read it as UTF-8.

Data functions take the caller's Session and never commit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.records.dates import ReviewYear
from bot.review import overview as overview_module
from bot.review.overview import Overview
from bot.runtime import Runtime
from db.models import Delivery

KIND = "overview-csv"  # the outbox row of a CSV file owed to a person
CONTENT_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "council",
    "letter",
    "state",
    "version",
    "issued_on",
    "published_at",
    "late_days",
    "scheduled",
    "completed",
    "postponed",
    "cancelled",
    "strengths",
    "improvements",
    "progress_done",
    "progress_owed",
)


@dataclass(frozen=True)
class OverviewFile:
    """The overview of one year as a file: its name, title and bytes."""

    filename: str
    title: str
    content: bytes
    content_type: str = CONTENT_TYPE


def inert(value: Any) -> Any:
    """A cell a spreadsheet shows and never runs: text that would start a formula gets `'`
    before it; numbers and empty cells as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def labels(runtime: Runtime) -> dict[str, str]:
    """The overview's column names (`templates/messages/overview_labels.j2`)."""
    return runtime.templates.messages.get_template("overview_labels.j2").module.labels


def _parts(runtime: Runtime) -> Any:
    return runtime.templates.messages.get_template("_overview.j2").module


def _plain(runtime: Runtime, markup: Any) -> str:
    # A macro's neutral markup as plain words (typed text as typed).
    return runtime.templates.dialect.render(str(markup))


def rows(runtime: Runtime, found: Overview) -> list[list[Any]]:
    """The header, a row per authority and the totals, as cells (text and numbers)."""
    names = labels(runtime)
    parts = _parts(runtime)
    table: list[list[Any]] = [[names[column] for column in COLUMNS]]
    for row in found.rows:
        letter = row.letter
        table.append(
            [
                row.council,
                _plain(runtime, parts.letter(letter)),
                letter.state,
                letter.version if letter.version is not None else "",
                letter.issued_on.isoformat() if letter.issued_on else "",
                letter.published_url or "",
                row.late_days if row.late_days is not None else "",
                row.activities.scheduled,
                row.activities.completed,
                row.activities.postponed,
                row.activities.cancelled,
                row.strengths,
                row.improvements,
                row.progress,
                row.earlier,
            ]
        )
    totals = found.totals
    table.append(
        [
            names["total"],
            _plain(runtime, parts.issued(totals)),
            "",
            "",
            "",
            "",
            totals.late,
            totals.activities.scheduled,
            totals.activities.completed,
            totals.activities.postponed,
            totals.activities.cancelled,
            totals.strengths,
            totals.improvements,
            totals.progress,
            totals.earlier,
        ]
    )
    return table


def csv_bytes(runtime: Runtime, found: Overview) -> bytes:
    """The overview as CSV: UTF-8 with a byte order mark, every text cell inert."""
    out = io.StringIO()
    writer = csv.writer(out)
    for cells in rows(runtime, found):
        writer.writerow([inert(cell) for cell in cells])
    return out.getvalue().encode("utf-8-sig")


def filename(year: ReviewYear, today: dt.date) -> str:
    """`ciw-overview-2019-20-2020-08-03.csv`: the year, and the day the file was made."""
    return f"ciw-overview-{year.label}-{today.isoformat()}.csv"


def made(runtime: Runtime, session: Session, year: ReviewYear) -> OverviewFile:
    """The overview of `year` as a CSV file, from the records as they are now."""
    today = runtime.today()
    found = overview_module.overview(
        session, year, today=today, required=runtime.settings.required_approvals
    )
    title = runtime.templates.message("overview_file_title", year=year, today=today)
    return OverviewFile(filename(year, today), title, csv_bytes(runtime, found))


def send(
    session: Session, *, platform: str, user_id: str, year: ReviewYear, now: dt.datetime
) -> Delivery:
    """Owe `user_id` the overview of `year` as a CSV file on `platform` (an outbox row, sent
    once the caller's transaction has committed)."""
    return outbox.enqueue(
        session,
        key=f"{KIND}:{uuid.uuid4().hex}",  # each asking is a file of its own
        kind=KIND,
        action=outbox.UPLOAD,
        channel=user_id,
        platform=platform,
        due_at=now,
        payload={"year": year.start_year},
    )


def year_of(row: Delivery) -> ReviewYear:
    """The review year an outbox row of this kind owes the overview of."""
    return ReviewYear(int((row.payload or {})["year"]))
