"""The overview for leads: where every authority's letter of one review year stands.

One row per local authority (all 22): the letter's state (no draft, version N in review,
changes requested, approved, awaiting Welsh, issued on a date, published), the year's
activities by status, its findings (strengths, improvements), the progress recorded in
it on the previous year's areas for improvement (n of m), and, for a letter not issued
once the year has ended, how many days it has been since (the letter is then late).
Totals at the end.

The states are the review's own (`bot.review.drafts.statuses`, which counts the Welsh
text through `bot.review.translation`; `bot.review.issuing.latest_issues`): nothing here
defines "approved" or "awaiting Welsh" again. An authority whose letter was issued shows
its newest issue; otherwise the draft a command would take (`issuing.recency`).

Rows come in the order of what needs attention: the least advanced letter first (no
draft, changes requested, in review, awaiting Welsh, approved and ready to issue), then
the issued and the published ones; by name within each. Every letter not issued of a
year that has ended is equally late (the year ended on the same day for all), so the
stage, not the delay, orders them.

A fixed number of queries whatever the number of records (grouped counts, each review
state read in bulk). Functions take plain values and a Session and never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records import activities, findings, progress
from bot.records.dates import ReviewYear
from bot.review import drafts, issuing, tally, translation
from db.models import ActivityStatus, Authority, Draft, DraftVersion, FindingKind

NO_DRAFT = "no draft"
IN_REVIEW = "in review"
CHANGES_REQUESTED = tally.CHANGES_REQUESTED
APPROVED = tally.APPROVED
AWAITING_WELSH = "awaiting Welsh"
ISSUED, PUBLISHED = issuing.ISSUED, issuing.PUBLISHED
# What needs attention first: the least advanced letter; issued and published last.
ATTENTION = (NO_DRAFT, CHANGES_REQUESTED, IN_REVIEW, AWAITING_WELSH, APPROVED, ISSUED, PUBLISHED)
STATES = ATTENTION
# A review's status (`drafts.statuses`) as the overview names it.
_OF_REVIEW = {
    tally.AWAITING: IN_REVIEW,
    tally.CHANGES_REQUESTED: CHANGES_REQUESTED,
    tally.APPROVED: APPROVED,
    translation.AWAITING_WELSH: AWAITING_WELSH,
}


@dataclass(frozen=True)
class Letter:
    """Where one authority's letter of the year stands."""

    state: str  # one of STATES
    version: int | None = None  # the current (or issued) version
    issued_on: dt.date | None = None
    issued_by: str | None = None
    published_url: str | None = None

    @property
    def issued(self) -> bool:
        """Issued, and perhaps published too."""
        return self.state in (ISSUED, PUBLISHED)


@dataclass(frozen=True)
class Activities:
    """A year's activities by status (the fields in `ActivityStatus`'s order, which fills them)."""

    scheduled: int = 0
    completed: int = 0
    postponed: int = 0
    cancelled: int = 0

    def __add__(self, other: Activities) -> Activities:
        return Activities(
            self.scheduled + other.scheduled,
            self.completed + other.completed,
            self.postponed + other.postponed,
            self.cancelled + other.cancelled,
        )

    @property
    def total(self) -> int:
        """All of them, whatever their status."""
        return self.scheduled + self.completed + self.postponed + self.cancelled


@dataclass(frozen=True)
class Row:
    """One authority in the overview."""

    slug: str
    council: str
    letter: Letter
    activities: Activities
    strengths: int
    improvements: int
    # The previous year's areas for improvement: how many have progress recorded this
    # year (`progress`) of how many there are (`earlier`).
    progress: int
    earlier: int
    # Days since the year ended, for a letter not issued once it has: how late it is.
    late_days: int | None


@dataclass(frozen=True)
class Totals:
    """The overview's last line: every row added up."""

    authorities: int
    states: dict[str, int] = field(hash=False)  # state → how many letters are in it
    late: int
    activities: Activities
    strengths: int
    improvements: int
    progress: int
    earlier: int

    @property
    def issued(self) -> int:
        """Letters issued, published ones included."""
        return self.states[ISSUED] + self.states[PUBLISHED]


@dataclass(frozen=True)
class Overview:
    """The overview of one review year, as of `today`."""

    year: ReviewYear
    today: dt.date
    # Days since the year ended (None: it has not ended yet, and nothing is late).
    days_since_end: int | None
    rows: tuple[Row, ...]
    totals: Totals


def days_since_end(year: ReviewYear, today: dt.date) -> int | None:
    """How many days ago the year ended (its last day, 31 March); None until it has."""
    days = (today - year.last_day).days
    return days if days > 0 else None


def overview(session: Session, year: ReviewYear, *, today: dt.date, required: int) -> Overview:
    """The overview of `year` as of `today` (`required`: the approvals a version needs)."""
    councils = session.execute(
        select(Authority.id, Authority.slug, Authority.english_name).order_by(
            Authority.english_name
        )
    ).all()
    ids = [council.id for council in councils]
    counted = activities.count_by_status(session, year, ids)
    found = findings.count_by_kind(session, year, ids)
    answered = progress.answered(session, year, ids)  # on the previous year's improvements
    letters = _letters(session, year, required)
    ended = days_since_end(year, today)
    rows = []
    for council in councils:
        letter = letters.get(council.id, Letter(NO_DRAFT))
        done, earlier = answered.get(council.id, (0, 0))
        rows.append(
            Row(
                slug=council.slug,
                council=council.english_name,
                letter=letter,
                activities=Activities(
                    *(counted.get((council.id, status), 0) for status in ActivityStatus)
                ),
                strengths=found.get((council.id, FindingKind.STRENGTH), 0),
                improvements=found.get((council.id, FindingKind.IMPROVEMENT), 0),
                progress=done,
                earlier=earlier,
                late_days=None if letter.issued else ended,
            )
        )
    rows.sort(key=lambda row: ATTENTION.index(row.letter.state))  # stable: by name within
    return Overview(year, today, ended, tuple(rows), _totals(rows))


def _letters(session: Session, year: ReviewYear, required: int) -> dict[int, Letter]:
    """Each authority's letter of the year that has a draft or an issue: authority id → it."""
    issued = issuing.latest_issues(session, year)
    numbers: dict[int, int] = {
        version_id: number
        for version_id, number in session.execute(
            select(DraftVersion.id, DraftVersion.number).where(
                DraftVersion.id.in_([issue.version_id for issue in issued.values()])
            )
        )
    }
    letters = {
        authority_id: Letter(
            issue.state,
            numbers.get(issue.version_id),
            issue.issued_on,
            issue.issued_by,
            issue.published_url,
        )
        for authority_id, issue in issued.items()
    }
    standing: dict[int, Any] = {}
    for current in _current_versions(session, year):
        kept = standing.get(current.authority_id)
        if kept is None or issuing.recency(current) > issuing.recency(kept):
            standing[current.authority_id] = current
    review = drafts.statuses(session, [v.id for v in standing.values()], required)
    for authority_id, current in standing.items():
        letters.setdefault(authority_id, Letter(_OF_REVIEW[review[current.id]], current.number))
    return letters


def _current_versions(session: Session, year: ReviewYear) -> list[Any]:
    """The current version of every draft of the year (id, number, created_at, authority):
    columns only, never the letter's text."""
    return list(
        session.execute(
            select(
                DraftVersion.id,
                DraftVersion.number,
                DraftVersion.created_at,
                Draft.authority_id,
            )
            .join(Draft, DraftVersion.draft_id == Draft.id)
            .where(Draft.review_year == year.start_year, drafts.is_current())
        )
    )


def _totals(rows: list[Row]) -> Totals:
    states = dict.fromkeys(STATES, 0)
    for row in rows:
        states[row.letter.state] += 1
    return Totals(
        authorities=len(rows),
        states=states,
        late=sum(1 for row in rows if row.late_days is not None),
        activities=sum((row.activities for row in rows), Activities()),
        strengths=sum(row.strengths for row in rows),
        improvements=sum(row.improvements for row in rows),
        progress=sum(row.progress for row in rows),
        earlier=sum(row.earlier for row in rows),
    )
