"""The overview for leads on the domain: every letter state, the year's counts, progress on
the previous year's improvements, lateness, the order of the rows and the totals, and a
fixed number of queries whatever the number of records.

The records here are written as the domain stores them (the review's rows themselves);
`tests/handlers/slack/test_overview.py` makes them through commands and clicks instead."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, insert, select

from bot.records.dates import ReviewYear
from bot.review import overview
from bot.review.overview import Activities, Letter
from db.models import (
    Activity,
    ActivityStatus,
    Authority,
    Decision,
    Draft,
    DraftVersion,
    Finding,
    FindingKind,
    Language,
    LetterIssue,
    Principle,
    Progress,
    Review,
    Service,
    Translation,
    WelshText,
)
from db.session import session_factory

YEAR = ReviewYear(2019)
TODAY = dt.date(2020, 8, 3)  # 125 days after 31 March 2020
AT = dt.datetime(2020, 6, 1, 9, tzinfo=dt.UTC)
_ids = itertools.count(1)


@pytest.fixture
def session(engine) -> Iterator:
    with session_factory(engine)() as session, session.begin():
        yield session


def authority(session, slug: str) -> Authority:
    return session.scalars(select(Authority).where(Authority.slug == slug)).one()


def draft(session, slug: str, versions: int = 1, *, channel: str = "G0REVIEW", made=AT):
    """A draft of `slug`'s 2019-20 letter with `versions` versions; its current one."""
    found = Draft(
        authority=authority(session, slug),
        review_year=YEAR.start_year,
        channel_id=channel,
        created_by="U0INSPECT",
        created_at=made,
    )
    session.add(found)
    for number in range(1, versions + 1):
        session.add(
            DraftVersion(
                draft=found,
                number=number,
                body="Dear",
                created_by="U0INSPECT",
                created_at=made + dt.timedelta(minutes=number),
            )
        )
    session.flush()
    return found.versions[-1]


def decide(session, version, decision: Decision, user: str = "U0REVIEW") -> None:
    session.add(Review(version_id=version.id, user_id=user, decision=decision, at=AT))
    if decision is Decision.APPROVE:
        version.approved_at = AT
    session.flush()


def welsh(session, version, *, approved: bool) -> None:
    owed = Translation(version_id=version.id, requested_at=AT)
    session.add(owed)
    session.flush()
    session.add(
        WelshText(
            translation_id=owed.id,
            revision=1,
            paragraphs=["Annwyl"],
            source="pack",
            file_id=f"F{next(_ids)}",
            file_name="cymraeg.docx",
            message_ts=f"{next(_ids)}.0",
            uploaded_by="U0TRANSLATE",
            approved_at=AT if approved else None,
        )
    )
    session.flush()


def issue(session, version, *, on=dt.date(2020, 7, 1), url: str | None = None) -> LetterIssue:
    made = LetterIssue(
        authority_id=version.draft.authority_id,
        review_year=YEAR.start_year,
        draft_id=version.draft_id,
        version_id=version.id,
        issued_on=on,
        issued_by="U0REVIEW",
        issued_at=dt.datetime.combine(on, dt.time(10), dt.UTC),
        published_url=url,
    )
    session.add(made)
    session.flush()
    return made


def activity(session, slug, day: dt.date, status=ActivityStatus.COMPLETED, removed=False):
    session.add(
        Activity(
            authority=authority(session, slug),
            service=Service.ADULTS,
            title="focused activity",
            start_date=day,
            end_date=day,
            status=status,
            logged_by="U0INSPECT",
            removed_at=AT if removed else None,
        )
    )


def finding(session, slug, year: int, kind: FindingKind, removed=False) -> Finding:
    made = Finding(
        authority=authority(session, slug),
        review_year=year,
        principle=Principle.PEOPLE,
        kind=kind,
        text="A finding.",
        created_by="U0INSPECT",
        removed_at=AT if removed else None,
    )
    session.add(made)
    session.flush()
    return made


def progress(session, improvement: Finding, year: int, removed=False) -> None:
    session.add(
        Progress(
            authority_id=improvement.authority_id,
            finding_id=improvement.id,
            review_year=year,
            text="Progress.",
            created_by="U0INSPECT",
            removed_at=AT if removed else None,
        )
    )
    session.flush()


def rows_by_slug(found: overview.Overview) -> dict[str, overview.Row]:
    return {row.slug: row for row in found.rows}


def test_every_state_of_a_letter_in_the_order_of_what_needs_attention(session):
    decide(session, draft(session, "cardiff"), Decision.REQUEST_CHANGES)
    draft(session, "newport", versions=3)  # in review
    decide(session, draft(session, "wrexham", versions=2), Decision.APPROVE)
    authority(session, "swansea").language = Language.BOTH
    waiting = draft(session, "swansea")
    decide(session, waiting, Decision.APPROVE)
    welsh(session, waiting, approved=False)  # approved in English, its Welsh not yet
    authority(session, "gwynedd").language = Language.CY
    bilingual = draft(session, "gwynedd")
    decide(session, bilingual, Decision.APPROVE)
    welsh(session, bilingual, approved=True)  # approved in both: ready to issue
    issued = draft(session, "powys")
    decide(session, issued, Decision.APPROVE)
    issue(session, issued, on=dt.date(2020, 7, 1))
    published = draft(session, "conwy", versions=2)
    decide(session, published, Decision.APPROVE)
    issue(session, published, on=dt.date(2020, 6, 30), url="https://example.wales/conwy")

    found = overview.overview(session, YEAR, today=TODAY, required=1)

    assert found.days_since_end == 125 and found.year == YEAR and found.today == TODAY
    rows = rows_by_slug(found)
    assert len(found.rows) == 22
    assert rows["cardiff"].letter == Letter(overview.CHANGES_REQUESTED, 1)
    assert rows["newport"].letter == Letter(overview.IN_REVIEW, 3)
    assert rows["wrexham"].letter == Letter(overview.APPROVED, 2)
    assert rows["swansea"].letter == Letter(overview.AWAITING_WELSH, 1)
    assert rows["gwynedd"].letter == Letter(overview.APPROVED, 1)
    assert rows["powys"].letter == Letter(overview.ISSUED, 1, dt.date(2020, 7, 1), "U0REVIEW", None)
    assert rows["conwy"].letter == Letter(
        overview.PUBLISHED, 2, dt.date(2020, 6, 30), "U0REVIEW", "https://example.wales/conwy"
    )
    assert rows["bridgend"].letter == Letter(overview.NO_DRAFT)
    # Late: every letter not issued, by the days since the year ended; issued ones never.
    assert {slug for slug, row in rows.items() if row.late_days is None} == {"powys", "conwy"}
    assert all(row.late_days == 125 for row in found.rows if not row.letter.issued)

    # What needs attention first: the least advanced, then by name; issued and published last.
    order = [(row.letter.state, row.slug) for row in found.rows]
    assert order[:15] == [(overview.NO_DRAFT, row.slug) for row in found.rows[:15]]
    names = [row.council for row in found.rows[:15]]
    assert names == sorted(names)
    assert order[15:] == [
        (overview.CHANGES_REQUESTED, "cardiff"),
        (overview.IN_REVIEW, "newport"),
        (overview.AWAITING_WELSH, "swansea"),
        (overview.APPROVED, "gwynedd"),
        (overview.APPROVED, "wrexham"),
        (overview.ISSUED, "powys"),
        (overview.PUBLISHED, "conwy"),
    ]
    totals = found.totals
    assert (totals.authorities, totals.issued, totals.late) == (22, 2, 20)
    assert totals.states == {
        overview.NO_DRAFT: 15,
        overview.CHANGES_REQUESTED: 1,
        overview.IN_REVIEW: 1,
        overview.AWAITING_WELSH: 1,
        overview.APPROVED: 2,
        overview.ISSUED: 1,
        overview.PUBLISHED: 1,
    }


def test_counts_of_the_year_and_progress_on_the_previous_years_improvements(session):
    for status in [ActivityStatus.COMPLETED] * 3 + [
        ActivityStatus.SCHEDULED,
        ActivityStatus.POSTPONED,
        ActivityStatus.POSTPONED,
        ActivityStatus.CANCELLED,
    ]:
        activity(session, "wrexham", dt.date(2019, 9, 24), status)
    activity(session, "wrexham", dt.date(2019, 4, 1))  # the year's first day
    activity(session, "wrexham", dt.date(2020, 3, 31))  # and its last
    activity(session, "wrexham", dt.date(2020, 4, 1), ActivityStatus.SCHEDULED)  # next year
    activity(session, "wrexham", dt.date(2019, 3, 31))  # the year before
    activity(session, "wrexham", dt.date(2019, 10, 1), removed=True)
    activity(session, "rhondda-cynon-taf", dt.date(2019, 10, 1), ActivityStatus.CANCELLED)
    for kind in [FindingKind.STRENGTH] * 2 + [FindingKind.IMPROVEMENT] * 3:
        finding(session, "wrexham", 2019, kind)
    finding(session, "wrexham", 2019, FindingKind.STRENGTH, removed=True)
    # The previous year's: three improvements standing, one removed, a strength.
    first, second, third = (
        finding(session, "wrexham", 2018, FindingKind.IMPROVEMENT) for _ in range(3)
    )
    gone = finding(session, "wrexham", 2018, FindingKind.IMPROVEMENT, removed=True)
    finding(session, "wrexham", 2018, FindingKind.STRENGTH)
    progress(session, first, 2019)
    progress(session, first, 2019)  # twice on one improvement: it counts once
    progress(session, second, 2019, removed=True)  # removed: not recorded
    progress(session, third, 2020)  # another year's progress
    progress(session, gone, 2019)  # on a removed improvement
    finding(session, "rhondda-cynon-taf", 2017, FindingKind.IMPROVEMENT)  # two years before

    rows = rows_by_slug(overview.overview(session, YEAR, today=TODAY, required=1))

    wrexham = rows["wrexham"]
    assert wrexham.activities == Activities(scheduled=1, completed=5, postponed=2, cancelled=1)
    assert (wrexham.strengths, wrexham.improvements) == (2, 3)
    assert (wrexham.progress, wrexham.earlier) == (1, 3)
    rct = rows["rhondda-cynon-taf"]
    assert rct.activities == Activities(cancelled=1)
    assert (rct.progress, rct.earlier, rct.strengths) == (0, 0, 0)
    assert rows["anglesey"].activities == Activities() and rows["anglesey"].activities.total == 0
    found = overview.overview(session, YEAR, today=TODAY, required=1)
    totals = found.totals
    assert totals.activities == Activities(1, 5, 2, 2)
    assert (totals.strengths, totals.improvements, totals.progress, totals.earlier) == (2, 3, 1, 3)


def test_a_year_not_ended_is_late_for_nobody():
    year = ReviewYear(2020)
    assert overview.days_since_end(year, dt.date(2021, 3, 31)) is None
    assert overview.days_since_end(year, dt.date(2021, 4, 1)) == 1
    assert overview.days_since_end(YEAR, TODAY) == 125


def test_an_unended_year_has_no_late_letters(session):
    found = overview.overview(session, ReviewYear(2020), today=TODAY, required=1)
    assert found.days_since_end is None and found.totals.late == 0
    assert all(row.late_days is None for row in found.rows)


def test_the_letter_is_the_newest_draft_or_the_newest_issue(session):
    # Two drafts in two channels: the one whose current version is newer stands for it.
    older = draft(session, "cardiff", versions=2, channel="G0ONE", made=AT)
    decide(session, older, Decision.APPROVE)
    draft(session, "cardiff", versions=1, channel="G0TWO", made=AT + dt.timedelta(days=1))
    # Issued, then amended by an admin: the issue stands while the amendment is reviewed.
    first = draft(session, "newport")
    decide(session, first, Decision.APPROVE)
    issue(session, first, on=dt.date(2020, 7, 1))
    amended = DraftVersion(
        draft=first.draft, number=2, body="Dear", created_by="U0ADMIN", created_at=AT
    )
    session.add(amended)
    session.flush()
    issue(session, amended, on=dt.date(2020, 7, 20))

    rows = rows_by_slug(overview.overview(session, YEAR, today=TODAY, required=1))
    assert rows["cardiff"].letter == Letter(overview.IN_REVIEW, 1)
    assert rows["newport"].letter.issued_on == dt.date(2020, 7, 20)
    assert rows["newport"].letter.version == 2


def test_two_approvals_needed_leave_one_in_review(session):
    version = draft(session, "wrexham")
    decide(session, version, Decision.APPROVE)
    found = rows_by_slug(overview.overview(session, YEAR, today=TODAY, required=2))
    assert found["wrexham"].letter.state == overview.IN_REVIEW


# -- a fixed number of queries -------------------------------------------------------------
@contextmanager
def counted(engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def many_records(engine) -> None:
    """Every authority with activities, findings, progress and a letter in some state."""
    with session_factory(engine)() as session, session.begin():
        slugs = list(session.scalars(select(Authority.slug).order_by(Authority.id)))
        for index, slug in enumerate(slugs):
            version = draft(session, slug, versions=1 + index % 3)
            if index % 4 == 1:
                decide(session, version, Decision.REQUEST_CHANGES)
            if index % 4 >= 2:
                decide(session, version, Decision.APPROVE)
                welsh(session, version, approved=index % 2 == 0)
            if index % 4 == 3:
                issue(session, version, url="https://example.wales/x" if index % 8 == 7 else None)
    with engine.begin() as connection:
        ids = list(connection.scalars(select(Authority.id)))
        statuses = list(ActivityStatus)
        connection.execute(
            insert(Activity.__table__),
            [
                {
                    "authority_id": authority_id,
                    "service": "adults",
                    "title": "focused activity",
                    "start_date": YEAR.first_day + dt.timedelta(days=n % 365),
                    "end_date": YEAR.first_day + dt.timedelta(days=n % 365),
                    "status": statuses[n % 4].value,
                    "logged_by": "U0INSPECT",
                    "created_at": AT,
                }
                for authority_id in ids
                for n in range(30)
            ],
        )
        connection.execute(
            insert(Finding.__table__),
            [
                {
                    "authority_id": authority_id,
                    "review_year": year,
                    "principle": "people",
                    "kind": "improvement" if n % 2 else "strength",
                    "text": "A finding.",
                    "created_by": "U0INSPECT",
                    "created_at": AT,
                }
                for authority_id in ids
                for year in (2018, 2019)
                for n in range(20)
            ],
        )
        earlier = list(
            connection.execute(
                select(Finding.id, Finding.authority_id).where(
                    Finding.review_year == 2018, Finding.kind == FindingKind.IMPROVEMENT
                )
            )
        )
        connection.execute(
            insert(Progress.__table__),
            [
                {
                    "authority_id": authority_id,
                    "finding_id": finding_id,
                    "review_year": 2019,
                    "text": "Progress.",
                    "created_by": "U0INSPECT",
                    "created_at": AT,
                }
                for finding_id, authority_id in earlier[::3]
            ],
        )


def test_the_overview_takes_the_same_few_queries_however_many_records(engine):
    def run() -> tuple[int, overview.Overview]:
        with session_factory(engine)() as session, counted(engine) as statements:
            found = overview.overview(session, YEAR, today=TODAY, required=1)
        return len(statements), found

    few, _ = run()  # 22 authorities with nothing recorded
    with session_factory(engine)() as session, session.begin():
        activity(session, "wrexham", dt.date(2019, 9, 24))
    one, _ = run()
    many_records(engine)
    lots, found = run()
    assert few == one == lots == 9
    assert found.totals.activities.total == 22 * 30 + 1
    assert found.totals.issued == 5 and found.totals.states[overview.CHANGES_REQUESTED] == 6
