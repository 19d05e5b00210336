"""Overview benchmark: the 22 authorities' letters of one review year among ten years of records.

Seeds 22 authorities × 10 review years (2010-11 to 2019-20) × 200 activities and 200
findings each (88,000 records), progress recorded on half of each year's improvements of
the year before, and a letter of every authority and year in some state (drafts of one to
three versions with approvals, change requests and Welsh texts, issued and published
letters), all with executemany core inserts. Then times `bot.review.overview.overview`
for 2019-20 (the median of its runs), counts its SQL statements (the same as on an empty
database: a fixed number whatever the records) and shows the database's plan of each.
Goal: under 100 ms.

Runs on a fresh SQLite file, and on PostgreSQL when one is given: `--database-url`, else
`CIW_BENCH_DATABASE_URL`, else beside `CIW_TEST_DATABASE_URL` (its database name with
`_bench`, created if missing). The PostgreSQL database used is EMPTIED first.

    python bench/bench_overview.py [--quick] [--database-url postgresql://…]

`--quick` (CI): 5 runs instead of 30, the same records.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, event, insert, select, text
from sqlalchemy.orm import Session

from bot.records.dates import ReviewYear
from bot.review import overview
from db.models import (
    Activity,
    ActivityStatus,
    Authority,
    Decision,
    Draft,
    DraftVersion,
    Finding,
    FindingKind,
    LetterIssue,
    Principle,
    Progress,
    Review,
    Service,
    Translation,
    WelshText,
)
from db.session import make_engine, upgrade
from tests.databases import beside, emptied

YEARS = [ReviewYear(start) for start in range(2010, 2020)]
MEASURED = ReviewYear(2019)
TODAY = dt.date(2020, 8, 3)
PER_YEAR = 200  # activities, and findings, of each authority each year
TARGET_SECONDS = 0.100
AT = dt.datetime(2020, 6, 1, 9, tzinfo=dt.UTC)
STATUSES = [ActivityStatus.COMPLETED] * 6 + [
    ActivityStatus.SCHEDULED,
    ActivityStatus.POSTPONED,
    ActivityStatus.POSTPONED,
    ActivityStatus.CANCELLED,
]


def _activities(authorities: list[int]) -> list[dict]:
    return [
        {
            "authority_id": authority_id,
            "service": list(Service)[n % 3].value,
            "title": f"focused activity number {n}",
            "details": "to review selected files and records",
            "start_date": year.first_day + dt.timedelta(days=(n * 7) % 365),
            "end_date": year.first_day + dt.timedelta(days=(n * 7) % 365),
            "status": STATUSES[n % 10].value,
            "logged_by": "U0BENCH",
            "created_at": AT,
            "removed_at": AT if n % 50 == 49 else None,
            "sequence": 0,
            "platform": "slack",
        }
        for authority_id in authorities
        for year in YEARS
        for n in range(PER_YEAR)
    ]


def _findings(authorities: list[int]) -> list[dict]:
    return [
        {
            "authority_id": authority_id,
            "review_year": year.start_year,
            "principle": list(Principle)[n % 4].value,
            "kind": (FindingKind.IMPROVEMENT if n % 2 else FindingKind.STRENGTH).value,
            "service": list(Service)[n % 3].value,
            "text": f"Finding {n}: the service showed a point worth a sentence or two.",
            "created_by": "U0BENCH",
            "created_at": AT,
            "removed_at": AT if n % 40 == 39 else None,
        }
        for authority_id in authorities
        for year in YEARS
        for n in range(PER_YEAR)
    ]


def _letters(connection, authorities: list[int]) -> None:
    """A draft of every authority and year, one to three versions, in every state."""
    drafts = [
        {
            "authority_id": authority_id,
            "review_year": year.start_year,
            "channel_id": "G0REVIEW",
            "thread_ts": f"{index}.{year.start_year}",
            "created_by": "U0BENCH",
            "created_at": AT,
            "platform": "slack",
        }
        for index, authority_id in enumerate(authorities)
        for year in YEARS
    ]
    connection.execute(insert(Draft.__table__), drafts)
    made = connection.execute(select(Draft.id, Draft.authority_id, Draft.review_year)).all()
    versions = [
        {
            "draft_id": draft_id,
            "number": number,
            "body": "Dear Director\n" + "A paragraph of the letter.\n" * 200,
            "created_by": "U0BENCH",
            "created_at": AT + dt.timedelta(minutes=number),
            "approved_at": AT if (draft_id % 7) >= 3 and number == 1 + draft_id % 3 else None,
        }
        for draft_id, _, _ in made
        for number in range(1, 2 + draft_id % 3)
    ]
    connection.execute(insert(DraftVersion.__table__), versions)
    current = connection.execute(
        select(DraftVersion.id, DraftVersion.draft_id, DraftVersion.approved_at).where(
            DraftVersion.number == 1 + DraftVersion.draft_id % 3
        )
    ).all()
    of_draft = {draft_id: (authority_id, year) for draft_id, authority_id, year in made}
    reviews, translations, issues = [], [], []
    for version_id, draft_id, approved_at in current:
        state = draft_id % 7
        if state == 2:
            reviews.append((version_id, Decision.REQUEST_CHANGES))
        if approved_at is not None:
            reviews.append((version_id, Decision.APPROVE))
        if state in (3, 4):
            translations.append((version_id, state == 4))
        if state >= 5:
            authority_id, year = of_draft[draft_id]
            issues.append(
                {
                    "authority_id": authority_id,
                    "review_year": year,
                    "draft_id": draft_id,
                    "version_id": version_id,
                    "issued_on": dt.date(year + 1, 7, 1),
                    "issued_by": "U0BENCH",
                    "issued_at": AT,
                    "published_url": "https://example.wales/letter" if state == 6 else None,
                }
            )
    connection.execute(
        insert(Review.__table__),
        [
            {"version_id": version_id, "user_id": "U0REVIEW", "decision": decision.value, "at": AT}
            for version_id, decision in reviews
        ],
    )
    connection.execute(
        insert(Translation.__table__),
        [{"version_id": version_id, "requested_at": AT} for version_id, _ in translations],
    )
    owed = dict(connection.execute(select(Translation.version_id, Translation.id)).all())
    connection.execute(
        insert(WelshText.__table__),
        [
            {
                "translation_id": owed[version_id],
                "revision": 1,
                "paragraphs": ["Annwyl Gyfarwyddwr"] * 200,
                "source": "pack",
                "file_id": f"F{version_id}",
                "file_name": "cymraeg.docx",
                "message_ts": f"{version_id}.1",
                "uploaded_by": "U0TRANSLATE",
                "uploaded_at": AT,
                "approved_at": AT if final else None,
            }
            for version_id, final in translations
        ],
    )
    connection.execute(insert(LetterIssue.__table__), issues)


def seed(engine: Engine) -> int:
    """Ten years of records of the 22 authorities; how many rows were written."""
    with engine.begin() as connection:
        authorities = list(connection.scalars(select(Authority.id)))
        activities, findings = _activities(authorities), _findings(authorities)
        connection.execute(insert(Activity.__table__), activities)
        connection.execute(insert(Finding.__table__), findings)
        improvements = connection.execute(
            select(Finding.id, Finding.authority_id, Finding.review_year).where(
                Finding.kind == FindingKind.IMPROVEMENT
            )
        ).all()
        progress = [
            {
                "authority_id": authority_id,
                "finding_id": finding_id,
                "review_year": year + 1,
                "text": "Progress made in the year after.",
                "created_by": "U0BENCH",
                "created_at": AT,
            }
            for index, (finding_id, authority_id, year) in enumerate(improvements)
            if index % 2
        ]
        connection.execute(insert(Progress.__table__), progress)
        _letters(connection, authorities)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return len(activities) + len(findings) + len(progress)


def measure(engine: Engine, runs: int) -> tuple[list[float], list[tuple[str, object]], object]:
    """The overview's run times, its statements (of the last run) and the overview."""
    captured: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    times = []
    found = None
    for run in range(runs + 1):
        captured.clear()
        event.listen(engine, "before_cursor_execute", keep)
        with Session(engine) as session:
            started = time.perf_counter()
            found = overview.overview(session, MEASURED, today=TODAY, required=1)
            if run:  # the first warms the connection pool and the caches: not counted
                times.append(time.perf_counter() - started)
        event.remove(engine, "before_cursor_execute", keep)
    return times, list(captured), found


def plans(engine: Engine, statements: list[tuple[str, object]]) -> str:
    """The database's plan of each statement, a few lines each."""
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    out = []
    with engine.connect() as connection:
        for number, (statement, parameters) in enumerate(statements, 1):
            rows = connection.exec_driver_sql(prefix + statement, parameters).all()
            lines = [str(row[-1]) for row in rows]
            out.append(
                f"  {number}. {statement.split()[0]} … {statement.split('FROM')[1].split()[0]}"
            )
            out += [f"       {line.strip()}" for line in lines[:6]]
    return "\n".join(out)


def run(engine: Engine, runs: int) -> bool:
    """Seed, measure and report on one database; whether the targets were met."""
    _, empty, _ = measure(engine, 1)
    started = time.perf_counter()
    written = seed(engine)
    seeded = time.perf_counter() - started
    times, statements, found = measure(engine, runs)
    median = statistics.median(times)
    print(
        f"{engine.dialect.name}: {written:,} records (22 authorities × {len(YEARS)} years × "
        f"{PER_YEAR} activities and {PER_YEAR} findings, progress, letters) seeded in "
        f"{seeded:.1f} s"
    )
    print(
        f"  overview of {MEASURED.label}: median {median * 1000:.1f} ms, best "
        f"{min(times) * 1000:.1f} ms ({runs} runs); {len(statements)} SQL statements "
        f"({len(empty)} on an empty database)"
    )
    states = ", ".join(f"{state} {count}" for state, count in found.totals.states.items())
    print(f"  letters: {states}; activities {found.totals.activities.total:,}")
    print("  plans:\n" + plans(engine, statements))
    ok = median < TARGET_SECONDS and len(statements) == len(empty)
    print(
        f"  targets (< {TARGET_SECONDS * 1000:.0f} ms, statements constant):",
        "met" if ok else "MISSED",
    )
    return ok


def main() -> int:
    """Run the benchmark on SQLite and, when one is given, PostgreSQL; exit 1 on a miss."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs (CI)")
    parser.add_argument("--database-url", help="a PostgreSQL database to use (EMPTIED)")
    args = parser.parse_args()
    runs = 5 if args.quick else 30
    postgres = args.database_url or os.environ.get("CIW_BENCH_DATABASE_URL")
    if not postgres and os.environ.get("CIW_TEST_DATABASE_URL"):
        postgres = beside(os.environ["CIW_TEST_DATABASE_URL"], "bench")
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        ok &= run(engine, runs)
        engine.dispose()
    if postgres:
        engine = emptied(postgres)
        ok &= run(engine, runs)
        engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
