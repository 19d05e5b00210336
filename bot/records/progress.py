"""Progress: what an authority has done, in a later review year, about an area for
improvement of an earlier one (the letter's promise to "report on progress the local
authority has made in implementing recommendations").

Functions take plain values and a Session, record history, and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import ColumnElement, case, exists, func, select
from sqlalchemy.orm import Session, contains_eager

from bot.errors import UserError
from bot.records import findings, history
from bot.records.dates import ReviewYear
from bot.records.findings import MAX_TEXT
from db.models import Authority, Finding, FindingKind, Progress


def check_text(text: str) -> str:
    """The progress paragraph, stripped; UserError if it is empty or overlong."""
    text = text.strip()
    if not text:
        raise UserError("missing_progress_text")
    if len(text) > MAX_TEXT:
        raise UserError("too_long", what="progress", limit=MAX_TEXT, length=len(text))
    return text


def check_answers(finding: Finding, year: ReviewYear) -> None:
    """UserError unless `finding` is an area for improvement of a year before `year`."""
    if finding.kind is not FindingKind.IMPROVEMENT:
        raise UserError("progress_on_strength", ref=f"F{finding.id}")
    if finding.review_year >= year.start_year:
        finding_year = ReviewYear(finding.review_year)
        raise UserError(
            "progress_not_later",
            ref=f"F{finding.id}",
            finding_year=finding_year.label,
            year=year.label,
            next_label=finding_year.next().label,
        )


def record(
    session: Session,
    *,
    finding: Finding,
    year: ReviewYear,
    text: str,
    actor: str,
    now: dt.datetime,
) -> Progress:
    """Record progress made in `year` on `finding`, an improvement of an earlier year."""
    text = check_text(text)
    check_answers(finding, year)
    progress = Progress(
        authority_id=finding.authority_id,
        finding=finding,
        review_year=year.start_year,
        text=text,
        created_by=actor,
        created_at=now,
    )
    session.add(progress)
    session.flush()
    history.record(
        session,
        actor=actor,
        subject="progress",
        subject_id=progress.id,
        action="logged",
        at=now,
        changes={"finding": f"F{finding.id}", "year": year.label},
    )
    return progress


def get_progress(session: Session, progress_id: int) -> Progress:
    """The progress with this id (not removed); UserError if there is none."""
    progress = session.get(Progress, progress_id)
    if progress is None or progress.removed_at is not None:
        raise UserError("unknown_id", ref=f"P{progress_id}")
    return progress


def edit(session: Session, progress: Progress, text: str, *, actor: str, now: dt.datetime) -> str:
    """Replace a progress paragraph, keeping the old text in the history; returns the old."""
    text = check_text(text)
    old = progress.text
    progress.text, progress.updated_at = text, now
    history.record(
        session,
        actor=actor,
        subject="progress",
        subject_id=progress.id,
        action="edited",
        at=now,
        changes={"old": old, "new": text},
    )
    session.flush()
    return old


def remove(session: Session, progress: Progress, *, actor: str, now: dt.datetime) -> None:
    """Take a progress paragraph out of lists and letters; the history keeps it."""
    progress.removed_at, progress.removed_by = now, actor
    history.record(
        session, actor=actor, subject="progress", subject_id=progress.id, action="removed", at=now
    )
    session.flush()


def _recorded_in(year: ReviewYear) -> list[ColumnElement[bool]]:
    # Progress belongs to the review year recorded with it; a removed one to none.
    return [Progress.review_year == year.start_year, Progress.removed_at.is_(None)]


def _improvements_of(year: ReviewYear) -> list[ColumnElement[bool]]:
    # An area for improvement is a finding of kind improvement, of the year it was found in.
    return [
        Finding.review_year == year.start_year,
        Finding.kind == FindingKind.IMPROVEMENT,
        Finding.removed_at.is_(None),
    ]


def for_year(session: Session, authority: Authority, year: ReviewYear) -> list[Progress]:
    """The authority's progress recorded for a review year, in the letter's order (the
    improvements' principle, service and record order, then the progress's), one query,
    each with its finding; progress on a removed finding is left out with it."""
    found = session.scalars(
        select(Progress)
        .join(Progress.finding)
        # The finding from the join itself; its authority is the one asked about.
        .options(contains_eager(Progress.finding).lazyload(Finding.authority))
        .where(
            Progress.authority_id == authority.id,
            *_recorded_in(year),
            Finding.removed_at.is_(None),
        )
    ).all()
    return sorted(found, key=letter_order)


def letter_order(progress: Progress) -> tuple[int, ...]:
    """A sort key: the order of the findings answered, then the order recorded."""
    finding = progress.finding
    return (*findings.letter_order(finding.principle, finding.service, finding.id), progress.id)


def improvements(session: Session, authority: Authority, year: ReviewYear) -> list[Finding]:
    """The authority's areas for improvement of a review year, in the letter's order."""
    found = session.scalars(
        select(Finding).where(Finding.authority_id == authority.id, *_improvements_of(year))
    ).all()
    return sorted(found, key=lambda f: findings.letter_order(f.principle, f.service, f.id))


def by_finding(recorded: list[Progress]) -> dict[int, list[Progress]]:
    """Progress grouped by the finding it answers (finding id → its progress, in order)."""
    grouped: dict[int, list[Progress]] = {}
    for progress in recorded:
        grouped.setdefault(progress.finding_id, []).append(progress)
    return grouped


def answered(
    session: Session, year: ReviewYear, authority_ids: Collection[int]
) -> dict[int, tuple[int, int]]:
    """For each of these authorities with areas for improvement in the year before `year`:
    (how many of them have progress recorded for `year`, how many there are), in one query."""
    recorded = exists().where(Progress.finding_id == Finding.id, *_recorded_in(year))
    rows = session.execute(
        select(
            Finding.authority_id,
            func.count(case((recorded, 1))),
            func.count(),
        )
        .where(
            Finding.authority_id.in_(list(authority_ids)),
            *_improvements_of(year.previous()),
        )
        .group_by(Finding.authority_id)
    )
    return {authority_id: (done, owed) for authority_id, done, owed in rows}
