"""Letter assembly benchmark: one authority-year with N activities and N findings.

Assembles the letter (text and .docx laid out by the shipped Word template, as a draft
with its marking) and counts the SQL statements it takes; the count must not grow with the
number of records, and a 1,000 + 1,000 record letter must take under 0.15 s.
Run `python bench/bench_letter.py [--quick]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select

from bot.letters import assemble, render
from bot.letters.docx import to_docx
from bot.letters.template import load_template
from bot.records.dates import ReviewYear
from bot.render import Templates
from bot.settings import Settings
from db.models import (
    Activity,
    ActivityStatus,
    Authority,
    Finding,
    FindingKind,
    Principle,
    Service,
)
from db.session import make_engine, session_factory, upgrade

YEAR = ReviewYear(2019)
TARGET_SECONDS = 0.15
SERVICES = [Service.CHILDREN, Service.ADULTS, Service.BOTH]
PRINCIPLES = list(Principle)
STATUSES = [ActivityStatus.COMPLETED] * 8 + [ActivityStatus.POSTPONED, ActivityStatus.CANCELLED]


def seed(engine, slug: str, n: int) -> None:
    """N activities (and a tenth as many next year) and N findings for one authority."""
    with session_factory(engine)() as session, session.begin():
        authority = session.scalars(select(Authority).where(Authority.slug == slug)).one()
        for i in range(n):
            day = YEAR.first_day + dt.timedelta(days=i % 365)
            session.add(
                Activity(
                    authority_id=authority.id,
                    service=SERVICES[i % 3],
                    title=f"focused activity number {i} in services",
                    details="to review files",
                    start_date=day,
                    end_date=day + dt.timedelta(days=i % 2),
                    status=STATUSES[i % 10],
                    status_reason="COVID-19" if i % 10 >= 8 else None,
                    logged_by="UBENCH",
                )
            )
            session.add(
                Finding(
                    authority_id=authority.id,
                    review_year=YEAR.start_year,
                    principle=PRINCIPLES[i % 4],
                    kind=FindingKind.STRENGTH if i % 2 else FindingKind.IMPROVEMENT,
                    service=SERVICES[i % 3],
                    text=f"Finding {i}: the service showed a point worth a sentence or two.",
                    created_by="UBENCH",
                )
            )
        for i in range(max(1, n // 10)):
            day = YEAR.next().first_day + dt.timedelta(days=i % 300)
            session.add(
                Activity(
                    authority_id=authority.id,
                    service=Service.CHILDREN,
                    title=f"planned {i}",
                    start_date=day,
                    end_date=day,
                    status=ActivityStatus.SCHEDULED,
                    logged_by="UBENCH",
                )
            )


def measure(engine, slug: str, repeat: int) -> tuple[float, float, int, int]:
    """(best text seconds, best text+docx seconds, statements, letter characters)."""
    templates, settings = Templates(), Settings()
    template = load_template(settings.letter_template)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    best_text = best_all = float("inf")
    size = 0
    for _ in range(repeat):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        with session_factory(engine)() as session:
            authority = session.scalars(select(Authority).where(Authority.slug == slug)).one()
            letter = assemble.assemble(
                session, authority, YEAR, today=dt.date(2020, 8, 3), settings=settings
            )
        elements = render.elements_of(templates, letter)
        text = render.to_text(elements)
        text_done = time.perf_counter()
        to_docx(elements, title="bench", template=template, version=1)
        done = time.perf_counter()
        event.remove(engine, "before_cursor_execute", count)
        best_text = min(best_text, text_done - started)
        best_all = min(best_all, done - started)
        size = len(text)
    return best_text, best_all, len(statements), size


def main() -> int:
    """Run the benchmark and print its figures; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (CI)")
    parser.add_argument("--records", type=int, default=1000)
    args = parser.parse_args()
    repeat = 2 if args.quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        seed(engine, "wrexham", 10)
        seed(engine, "cardiff", args.records)
        small = measure(engine, "wrexham", repeat)
        large = measure(engine, "cardiff", repeat)
        engine.dispose()
    print(
        f"letter with 10 activities + 10 findings: text {small[0] * 1000:.1f} ms, "
        f"text+docx {small[1] * 1000:.1f} ms, {small[2]} SQL statements"
    )
    print(
        f"letter with {args.records} activities + {args.records} findings: "
        f"text {large[0] * 1000:.1f} ms, text+docx {large[1] * 1000:.1f} ms, "
        f"{large[2]} SQL statements, {large[3]:,} characters"
    )
    ok = large[1] < TARGET_SECONDS and small[2] == large[2]
    print(
        f"targets (< {TARGET_SECONDS} s with the template, statements constant):",
        "met" if ok else "MISSED",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
