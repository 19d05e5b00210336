"""Where a review stands: the approvals and open change requests on one thing under review
(a draft's version, or a revision of its Welsh text), counted the same way for both."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import UserError
from db.models import Decision, DraftVersion, LetterIssue

AWAITING, CHANGES_REQUESTED, APPROVED = "awaiting review", "changes requested", "approved"


class Decided(Protocol):
    """A recorded review decision (`Review`, `WelshReview`)."""

    id: int
    user_id: str
    decision: Decision
    at: dt.datetime
    resolved_at: dt.datetime | None


@dataclass(frozen=True)
class Tally:
    """Where the review of one version (or Welsh revision) stands."""

    approvers: tuple[str, ...]
    open_requests: int
    required: int

    @property
    def approvals(self) -> int:
        """Approvals standing on it."""
        return len(self.approvers)

    @property
    def approved(self) -> bool:
        """Enough approvals and no open change request."""
        return self.approvals >= self.required and self.open_requests == 0

    @property
    def status(self) -> str:
        """`approved`, `changes requested` or `awaiting review`."""
        if self.approved:
            return APPROVED
        return CHANGES_REQUESTED if self.open_requests else AWAITING


def tally_of(reviews: Iterable[Decided], required: int) -> Tally:
    """The tally of these decisions: a reviewer's latest decision is the one that stands."""
    reviews = list(reviews)
    latest: dict[str, Decided] = {}
    for review in sorted(reviews, key=lambda r: (r.at, r.id)):
        latest[review.user_id] = review
    approvers = tuple(u for u, r in latest.items() if r.decision is Decision.APPROVE)
    open_requests = sum(
        1 for r in reviews if r.decision is Decision.REQUEST_CHANGES and r.resolved_at is None
    )
    return Tally(approvers, open_requests, required)


def refuse_if_issued(session: Session, version: DraftVersion) -> None:
    """An issued version is final: no decision, upload or comment changes it (UserError)."""
    issued = session.scalar(
        select(LetterIssue.issued_on).where(LetterIssue.version_id == version.id)
    )
    if issued is not None:
        raise UserError("draft_issued_final", version=version.number, date=issued)
