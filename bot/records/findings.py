"""Findings: strengths and areas for improvement under the four principles.

Functions take plain values and a Session, record history, and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.records import history
from bot.records.dates import ReviewYear
from db.models import Activity, Authority, Finding, FindingKind, Principle, Service

MAX_TEXT = 3000  # what a Slack text input holds (the form), so typed and form findings agree

# The order the letter states findings in: the four principles of the 2014 Act; within a
# principle children's, then adults', then both, then those for no service, each as recorded.
PRINCIPLE_ORDER = (
    Principle.WELL_BEING,
    Principle.PEOPLE,
    Principle.PREVENTION,
    Principle.PARTNERSHIPS,
)
SERVICE_ORDER = {Service.CHILDREN: 0, Service.ADULTS: 1, Service.BOTH: 2, None: 3}


def letter_order(
    principle: Principle, service: Service | None, finding_id: int
) -> tuple[int, int, int]:
    """A sort key putting findings (and what answers them) in the letter's order."""
    return (PRINCIPLE_ORDER.index(principle), SERVICE_ORDER[service], finding_id)


def check_text(text: str) -> str:
    """The finding's text, stripped; UserError if it is empty or overlong."""
    text = text.strip()
    if not text:
        raise UserError("missing_finding_text")
    if len(text) > MAX_TEXT:
        raise UserError("too_long", what="finding", limit=MAX_TEXT, length=len(text))
    return text


def log_finding(
    session: Session,
    *,
    authority: Authority,
    year: ReviewYear | None,
    principle: Principle,
    kind: FindingKind,
    service: Service | None,
    activity: Activity | None,
    text: str,
    actor: str,
    today: dt.date,
    now: dt.datetime,
) -> Finding:
    """Record a finding; its year defaults to the linked activity's, else the current one."""
    text = check_text(text)
    if activity is not None and activity.authority_id != authority.id:
        raise UserError(
            "activity_elsewhere", ref=f"A{activity.id}", authority=activity.authority.slug
        )
    if year is None:
        year = ReviewYear.of(activity.start_date if activity is not None else today)
    if service is None and activity is not None:
        service = activity.service
    finding = Finding(
        authority=authority,
        review_year=year.start_year,
        principle=principle,
        kind=kind,
        service=service,
        activity_id=activity.id if activity is not None else None,
        text=text,
        created_by=actor,
        created_at=now,
    )
    session.add(finding)
    session.flush()
    history.record(
        session, actor=actor, subject="finding", subject_id=finding.id, action="logged", at=now
    )
    return finding


def get_finding(session: Session, finding_id: int) -> Finding:
    """The finding with this id (not removed); UserError if there is none."""
    finding = session.get(Finding, finding_id)
    if finding is None or finding.removed_at is not None:
        raise UserError("unknown_id", ref=f"F{finding_id}")
    return finding


def edit(session: Session, finding: Finding, text: str, *, actor: str, now: dt.datetime) -> str:
    """Replace a finding's text, keeping the old text in the history; returns the old text."""
    text = check_text(text)
    old = finding.text
    finding.text, finding.updated_at = text, now
    history.record(
        session,
        actor=actor,
        subject="finding",
        subject_id=finding.id,
        action="edited",
        at=now,
        changes={"old": old, "new": text},
    )
    session.flush()
    return old


def remove(session: Session, finding: Finding, *, actor: str, now: dt.datetime) -> None:
    """Take a finding out of lists and letters; the history keeps it."""
    finding.removed_at, finding.removed_by = now, actor
    history.record(
        session, actor=actor, subject="finding", subject_id=finding.id, action="removed", at=now
    )
    session.flush()


def _of_year(year: ReviewYear) -> list[ColumnElement[bool]]:
    # A finding belongs to the review year recorded with it; a removed one to none.
    return [Finding.review_year == year.start_year, Finding.removed_at.is_(None)]


def for_year(session: Session, authority: Authority, year: ReviewYear) -> list[Finding]:
    """The authority's findings of a review year, in the order they were recorded."""
    return list(
        session.scalars(
            select(Finding)
            .where(Finding.authority_id == authority.id, *_of_year(year))
            .order_by(Finding.id)
        )
    )


def count_by_kind(
    session: Session, year: ReviewYear, authority_ids: Collection[int]
) -> dict[tuple[int, FindingKind], int]:
    """How many findings of a review year (as `for_year` has them) each of these
    authorities has, by kind: (authority id, kind) → count, in one query."""
    rows = session.execute(
        select(Finding.authority_id, Finding.kind, func.count())
        .where(Finding.authority_id.in_(list(authority_ids)), *_of_year(year))
        .group_by(Finding.authority_id, Finding.kind)
    )
    return {(authority_id, kind): count for authority_id, kind, count in rows}
