"""Draft letters under review: reading a draft's state, approvals, change requests, comments.

A draft is one authority's letter for one review year, reviewed in one thread (Slack) or
reply chain (Teams) of one channel. Its versions are made by `bot.review.draft_versions`; what a
decision shows goes in the outbox (`bot.review.draft_outbox`) in the same transaction, and the
platform's sender posts it once that has committed, so nothing is shown without its
record, nor recorded without being shown.
Functions take the Runtime for its settings and templates, and the caller's Session;
they never commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session, aliased

from bot.errors import UserError
from bot.records import events, history
from bot.records.dates import ReviewYear, letter_date
from bot.review import draft_outbox, translation
from bot.review.tally import Tally, refuse_if_issued, tally_of
from bot.runtime import Runtime
from db.models import Authority, Comment, Decision, Draft, DraftVersion, LetterIssue, Review

log = logging.getLogger("ciw.drafts")

APPROVE = "draft_approve"
REQUEST_CHANGES = "draft_request_changes"
NEW_VERSION = "draft_new_version"

MAX_REASON = 3000
MAX_COMMENT = 40_000  # Slack's own limit on a message's text: nothing longer is recorded


# -- reading -------------------------------------------------------------------------
@dataclass(frozen=True)
class DraftSummary:
    """A draft as `/ciw list` shows it."""

    version: int
    status: str
    channel_id: str
    # Once issued: the date (`3 August 2020`), who issued it, and where it is published.
    issued_on: str | None = None
    issued_by: str | None = None
    published_url: str | None = None


@dataclass(frozen=True)
class Decided:
    """Event: a draft got a decision (an approval or a change request counted)."""

    draft: Draft
    now: dt.datetime


def current(draft: Draft) -> DraftVersion:
    """The draft's newest version."""
    return draft.versions[-1]


def is_current() -> ColumnElement[bool]:
    """A query's clause: the `DraftVersion` is its draft's newest (`current`, in SQL)."""
    later = aliased(DraftVersion)
    return ~exists().where(
        later.draft_id == DraftVersion.draft_id, later.number > DraftVersion.number
    )


def tally(session: Session, version: DraftVersion, required: int) -> Tally:
    """The approvals and open change requests on a version."""
    reviews = list(session.scalars(select(Review).where(Review.version_id == version.id)))
    return tally_of(reviews, required)


def statuses(session: Session, version_ids: Iterable[int], required: int) -> dict[int, str]:
    """Where the review of each of these versions stands (version id → `awaiting review`,
    `changes requested`, `approved`, or approved in English and awaiting its Welsh), in
    two queries whatever their number: the one definition lists, the App Home and the
    overview all read."""
    ids = list(version_ids)
    reviews: dict[int, list[Review]] = {i: [] for i in ids}
    for review in session.scalars(select(Review).where(Review.version_id.in_(ids))):
        reviews[review.version_id].append(review)
    english = {i: tally_of(found, required).status for i, found in reviews.items()}
    # Welsh-workflow hook (bot.review.translation): approved only once the Welsh is.
    return translation.overall_statuses(session, english)


def get_version(session: Session, version_id: int) -> DraftVersion:
    """The draft version with this id; UserError if there is none."""
    version = session.get(DraftVersion, version_id)
    if version is None:
        raise UserError("draft_unknown")
    return version


def by_thread(session: Session, channel_id: str, thread_ts: str) -> Draft | None:
    """The draft reviewed in this thread, if any."""
    return session.scalars(
        select(Draft).where(Draft.channel_id == channel_id, Draft.thread_ts == thread_ts)
    ).first()


def summaries(
    session: Session, authority: Authority, year: ReviewYear, required: int
) -> list[DraftSummary]:
    """The drafts of one authority and year with their current version and status."""
    drafts = list(
        session.scalars(
            select(Draft)
            .where(Draft.authority_id == authority.id, Draft.review_year == year.start_year)
            .order_by(Draft.id)
        )
    )
    drafts = [d for d in drafts if d.versions]
    if not drafts:
        return []
    ids = [current(d).id for d in drafts]
    found = statuses(session, ids, required)
    issues = {
        i.version_id: i
        for i in session.scalars(select(LetterIssue).where(LetterIssue.version_id.in_(ids)))
    }
    out = []
    for d in drafts:
        version = current(d)
        issue = issues.get(version.id)
        if issue is None:
            out.append(DraftSummary(version.number, found[version.id], d.channel_id))
            continue
        out.append(
            DraftSummary(
                version.number,
                issue.state,
                d.channel_id,
                letter_date(issue.issued_on),
                issue.issued_by,
                issue.published_url,
            )
        )
    return out


# -- decisions ------------------------------------------------------------------------
def _current_or_refuse(version: DraftVersion) -> Draft:
    draft = version.draft
    latest = current(draft)
    if latest.id != version.id:
        raise UserError("draft_not_current", version=version.number, current=latest.number)
    return draft


def _after_decision(
    runtime: Runtime,
    session: Session,
    draft: Draft,
    version: DraftVersion,
    actor: str,
    review: Review | None = None,
) -> Tally:

    now = runtime.now()
    state = tally(session, version, runtime.settings.required_approvals)
    if state.approved and version.approved_at is None:
        version.approved_at = now
        history.record(
            session,
            actor=actor,
            subject="draft",
            subject_id=draft.id,
            action="approved",
            at=now,
            changes={"version": version.number},
        )
        # Welsh-workflow hook (bot.review.translation): a Welsh-language letter now owes its Welsh.
        translation.english_approved(session, draft, version, now=now, actor=actor)
    elif not state.approved:
        version.approved_at = None
    events.publish(session, Decided(draft, now))
    draft_outbox.enqueue_decision(
        session,
        draft,
        version,
        review=review,
        approved=state.approved and current(draft).id == version.id,
        now=now,
    )
    session.flush()
    return state


def announce(runtime: Runtime, version_id: int, *, actor: str, reason: str | None = None) -> None:
    """Send what a committed decision queued (its note, the parent's status, the approved
    letter): the decision's transaction put them in the outbox; this wakes the sender."""

    del actor, reason, version_id  # the outbox rows carry what to say (and the Welsh pack)
    runtime.kick()


def approve(runtime: Runtime, session: Session, version_id: int, *, user_id: str) -> Tally:
    """Record `user_id`'s approval of the current version (their change request is resolved).

    `announce` then shows it in Slack.
    """
    now = runtime.now()
    version = get_version(session, version_id)
    draft = _current_or_refuse(version)
    refuse_if_issued(session, version)
    mine = list(
        session.scalars(
            select(Review)
            .where(Review.version_id == version.id, Review.user_id == user_id)
            .order_by(Review.at, Review.id)
        )
    )
    if mine and mine[-1].decision is Decision.APPROVE:
        raise UserError("draft_already_approved", version=version.number)
    for review in mine:
        if review.decision is Decision.REQUEST_CHANGES and review.resolved_at is None:
            review.resolved_at = now
    earlier = next((r for r in mine if r.decision is Decision.APPROVE), None)
    if earlier is not None:
        # Approving again after asking for changes: the one approval row moves to now.
        earlier.at = now
    else:
        # A second click racing this one fails on the unique index when it commits
        # (IntegrityError): the caller answers it as already approved.
        session.add(
            Review(version_id=version.id, user_id=user_id, decision=Decision.APPROVE, at=now)
        )
    history.record(
        session,
        actor=user_id,
        subject="draft",
        subject_id=draft.id,
        action="approval",
        at=now,
        changes={"version": version.number},
    )
    session.flush()
    return _after_decision(runtime, session, draft, version, user_id)


def check_reviewable(session: Session, version_id: int) -> DraftVersion:
    """The version, if it is its draft's current one (what a reviewer may act on)."""
    version = get_version(session, version_id)
    _current_or_refuse(version)
    refuse_if_issued(session, version)
    return version


def request_changes(
    runtime: Runtime, session: Session, version_id: int, *, user_id: str, reason: str
) -> Tally:
    """Record a change request with its reason (`announce` then shows it in the thread)."""
    now = runtime.now()
    reason = reason.strip()
    if not reason:
        raise UserError("draft_missing_reason")
    if len(reason) > MAX_REASON:
        raise UserError("too_long", what="reason", limit=MAX_REASON, length=len(reason))
    version = check_reviewable(session, version_id)
    draft = version.draft
    review = Review(
        version_id=version.id,
        user_id=user_id,
        decision=Decision.REQUEST_CHANGES,
        reason=reason,
        at=now,
    )
    session.add(review)
    history.record(
        session,
        actor=user_id,
        subject="draft",
        subject_id=draft.id,
        action="changes requested",
        at=now,
        reason=reason,
        changes={"version": version.number},
    )
    session.flush()
    return _after_decision(runtime, session, draft, version, user_id, review)


def publish_version(runtime: Runtime, version_id: int) -> bool:
    """Send a recorded version's queued messages (its rows are in the outbox already)."""

    del version_id
    runtime.kick()
    return True


# -- comments ---------------------------------------------------------------------------
def record_comment(
    session: Session,
    *,
    channel_id: str,
    thread_ts: str,
    message_ts: str,
    user_id: str,
    text: str,
    now: dt.datetime,
) -> Comment | None:
    """A reply in a draft's thread as a comment on its current version (once per message).

    None when the thread is not a draft's or the message was recorded already.
    """
    draft = by_thread(session, channel_id, thread_ts)
    if draft is None or message_ts == thread_ts or not draft.versions:
        return None
    seen = session.scalars(
        select(Comment.id)
        .join(DraftVersion, Comment.version_id == DraftVersion.id)
        .where(DraftVersion.draft_id == draft.id, Comment.message_ts == message_ts)
    ).first()
    if seen is not None:
        return None
    comment = Comment(
        version_id=current(draft).id,
        user_id=user_id,
        # Slack caps a message at 40,000 characters; a forged event may carry more.
        text=(text or "")[:MAX_COMMENT],
        message_ts=message_ts,
        at=now,
    )
    session.add(comment)
    session.flush()
    return comment
