"""Calendar feed benchmark: one person's feed of 500 activities among many others' activities.

The app is served by uvicorn on loopback (as `ciw-bot serve` serves it) with the fake
Slack answering users.info; the feed is fetched over HTTP on a keep-alive connection.
Reports the full fetch (events unchanged since the last fetch are kept written), the
cold fetch (every event written afresh) and the 304 revalidation (p50, p95), the SQL statements a fetch
takes, the feed's size and the database's plan for the feed's query. Goal: the full feed
of 500 activities under 50 ms (p50), one SQL statement per fetch.

    python bench/bench_calendar.py            # 200 fetches each
    python bench/bench_calendar.py --quick    # 50 fetches each (CI)
    CIW_BENCH_DATABASE_URL=postgresql://… python bench/bench_calendar.py   # PostgreSQL: EMPTIED
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import MetaData, event, insert, select, text

from bot.calendar import feeds
from bot.settings import Settings
from db.models import (
    Activity,
    ActivityInspector,
    ActivityStatus,
    Authority,
    CalendarFeed,
    Finding,
    FindingKind,
    Principle,
    Service,
)
from db.session import make_engine, upgrade
from handlers.serve import Served, serving
from handlers.slack.app import create_app, runtime_of
from handlers.slack.client import make_client
from handlers.slack.double import FakeSlack
from handlers.slack.server import wsgi_app

USER = "U0BENCH"
OTHERS = 40
STATUSES = [ActivityStatus.SCHEDULED] * 6 + [
    ActivityStatus.POSTPONED,
    ActivityStatus.CANCELLED,
    ActivityStatus.COMPLETED,
    ActivityStatus.COMPLETED,
]


def seed(engine, mine: int, others: int) -> str:
    """`mine` activities of USER and `others` of OTHERS other people, with findings; a token."""
    start = dt.date(2020, 1, 6)
    now = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    with engine.begin() as connection:
        authorities = connection.execute(select(Authority.id)).scalars().all()
        rows, people = [], []
        for i in range(mine + others):
            day = start + dt.timedelta(days=(i * 3) % 700)
            rows.append(
                {
                    "id": i + 1,
                    "authority_id": authorities[i % len(authorities)],
                    "service": list(Service)[i % 3].value,
                    "title": f"focused activity number {i} in children's services",
                    "details": "to review selected files and records",
                    "start_date": day,
                    "end_date": day + dt.timedelta(days=i % 3),
                    "start_time": dt.time(9 + i % 6, 30) if i % 2 else None,
                    "status": STATUSES[i % 10].value if i >= mine else STATUSES[i % 8].value,
                    "logged_by": USER,
                    "created_at": now,
                    "sequence": i % 4,
                    "revised_at": now,
                }
            )
            owner = USER if i < mine else f"U0OTHER{i % OTHERS:02d}"
            people.append({"activity_id": i + 1, "user_id": owner})
            if i % 5 == 0:
                people.append({"activity_id": i + 1, "user_id": f"U0PEER{i % 7}"})
        connection.execute(insert(Activity.__table__), rows)
        connection.execute(insert(ActivityInspector.__table__), people)
        connection.execute(
            insert(Finding.__table__),
            [
                {
                    "authority_id": authorities[0],
                    "review_year": 2019,
                    "principle": Principle.PEOPLE.value,
                    "kind": FindingKind.STRENGTH.value,
                    "activity_id": i + 1,
                    "text": "a finding that must never reach a feed",
                    "created_by": USER,
                    "created_at": now,
                }
                for i in range(0, mine, 10)
            ],
        )
        token = feeds.new_token()
        connection.execute(
            insert(CalendarFeed.__table__),
            [{"user_id": USER, "token_hash": feeds.token_hash(token), "created_at": now}],
        )
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return token


def timed(
    connection: http.client.HTTPConnection, path: str, headers: dict
) -> tuple[float, int, bytes, str]:
    """One GET: (seconds, status, body, etag)."""
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    answer = connection.getresponse()
    body = answer.read()
    return time.perf_counter() - started, answer.status, body, answer.getheader("ETag") or ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def plan(engine, token: str) -> str:
    """The database's plan for the feed's query, one line per step."""
    from sqlalchemy.orm import Session

    captured: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    with Session(engine) as session:
        feeds.load(session, token)
    event.remove(engine, "before_cursor_execute", keep)
    statement, parameters = captured[0]
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + statement, parameters).all()
    return "\n".join("    " + " ".join(str(c) for c in row[-1:]) for row in rows)


def main() -> int:
    """Run the benchmark and print its figures; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer fetches (CI)")
    parser.add_argument("--activities", type=int, default=500)
    args = parser.parse_args()
    fetches = 50 if args.quick else 200
    with tempfile.TemporaryDirectory() as tmp:
        # Its own variable, never DATABASE_URL: the database named is emptied first.
        url = os.environ.get("CIW_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        if engine.dialect.name == "postgresql":
            metadata = MetaData()
            metadata.reflect(engine)
            metadata.drop_all(engine)
            with engine.begin() as connection:
                connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(engine)
        # The person's feed (active statuses) and 40 times as many activities of others.
        token = seed(engine, args.activities, args.activities * OTHERS)
        slack = FakeSlack().start()
        settings = Settings(
            slack_bot_token="xoxb-bench",
            slack_signing_secret="bench-secret",
            slack_api_url=slack.api_url,
            database_url=url,
            public_url="https://ciw-bot.example.org",
        )
        app = create_app(settings, client=make_client(settings, timeout=5), engine=engine)
        served = Served(serving(runtime_of(app), wsgi_app(app, engine), threads=4)).start()
        statements: list[str] = []
        count = lambda *a: statements.append(a[2])  # noqa: E731
        try:
            connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
            path = f"/calendar/{token}.ics"
            _, status, body, etag = timed(connection, path, {})
            assert status == 200, status
            assert b"must never reach" not in body
            events = body.count(b"BEGIN:VEVENT")
            event.listen(engine, "before_cursor_execute", count)
            full = [timed(connection, path, {})[0] for _ in range(fetches)]
            event.remove(engine, "before_cursor_execute", count)
            per_fetch = len(statements) / fetches
            # Cold: every event written afresh, as after a restart (or all 500 changed at once).
            cold = []
            for _ in range(max(5, fetches // 10)):
                feeds._event.cache_clear()
                cold.append(timed(connection, path, {})[0])
            revalidated = []
            for _ in range(fetches):
                seconds, status, _, _ = timed(connection, path, {"If-None-Match": etag})
                assert status == 304, status
                revalidated.append(seconds)
            connection.close()
            explained = plan(engine, token)
        finally:
            served.stop()
            runtime_of(app).shutdown()
            slack.stop()
            engine.dispose()
    print(
        f"feed of {events} events ({len(body):,} bytes) among "
        f"{args.activities * (OTHERS + 1):,} activities on {engine.dialect.name}:"
    )
    print(
        f"  full fetch  p50 {statistics.median(full) * 1000:.1f} ms, "
        f"p95 {percentile(full, 0.95) * 1000:.1f} ms ({fetches} fetches)"
    )
    print(
        f"  cold fetch  p50 {statistics.median(cold) * 1000:.1f} ms "
        f"(every event written afresh: after a restart, or when all of them changed)"
    )
    print(
        f"  304 (ETag)  p50 {statistics.median(revalidated) * 1000:.1f} ms, "
        f"p95 {percentile(revalidated, 0.95) * 1000:.1f} ms"
    )
    print(f"  SQL statements per fetch: {per_fetch:g}")
    print("  plan of the feed's query:\n" + explained)
    ok = statistics.median(full) < 0.050 and per_fetch == 1
    print("targets (full feed p50 < 50 ms, 1 statement a fetch):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
