"""Draft letters and their review: versions, approvals, change requests, comments.

A draft is one authority's letter for one review year, reviewed in one Slack thread of
one channel. A version and the messages that post it are recorded together: the
messages go in the outbox (`bot.draft_outbox`) in the same transaction, and the sender
posts them once it has committed, so a draft is never in Slack without its record, nor
recorded without being posted. Decisions queue what they show the same way.
Functions take the Runtime for its settings and templates, and the caller's Session;
they never commit.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import draft_outbox, history, reminders, translation
from bot.dates import ReviewYear
from bot.errors import UserError
from bot.letters import assemble, check, render
from bot.review_tally import Tally, tally_of
from bot.runtime import Runtime
from db.models import Authority, Comment, Decision, Draft, DraftVersion, Review

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


def current(draft: Draft) -> DraftVersion:
    """The draft's newest version."""
    return draft.versions[-1]


def tally(session: Session, version: DraftVersion, required: int) -> Tally:
    """The approvals and open change requests on a version."""
    reviews = list(session.scalars(select(Review).where(Review.version_id == version.id)))
    return tally_of(reviews, required)


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
    reviews: dict[int, list[Review]] = {i: [] for i in ids}
    for review in session.scalars(select(Review).where(Review.version_id.in_(ids))):
        reviews[review.version_id].append(review)
    return [
        DraftSummary(
            current(d).number,
            # Welsh-workflow hook (bot.translation): approved only once the Welsh is.
            translation.overall_status(
                session, current(d), tally_of(reviews[current(d).id], required).status
            ),
            d.channel_id,
        )
        for d in drafts
    ]


# -- making versions -------------------------------------------------------------------
def build(
    runtime: Runtime, session: Session, authority: Authority, year: ReviewYear
) -> list[render.Element]:
    """The letter's elements, assembled from the current records and dated today."""
    return build_checked(runtime, session, authority, year)[0]


def build_checked(
    runtime: Runtime, session: Session, authority: Authority, year: ReviewYear
) -> tuple[list[render.Element], list[dict[str, Any]]]:
    """The letter's elements and what the completeness check finds missing in it."""
    letter = assemble.assemble(
        session, authority, year, today=runtime.today(), settings=runtime.settings
    )
    return render.elements_of(runtime.templates, letter), check.completeness(letter)


@dataclass(frozen=True)
class Outcome:
    """What a draft-letter request did."""

    draft: Draft
    version: DraftVersion
    posted: bool


def draft_letter(
    runtime: Runtime,
    session: Session,
    *,
    authority: Authority,
    year: ReviewYear,
    channel_id: str,
    actor: str,
    platform: str = "slack",
) -> Outcome:
    """Start the draft of this authority and year in this channel, or add a new version."""
    draft = session.scalars(
        select(Draft).where(
            Draft.authority_id == authority.id,
            Draft.review_year == year.start_year,
            Draft.channel_id == channel_id,
        )
    ).first()
    now = runtime.now()
    if draft is None:
        draft = Draft(
            authority=authority,
            review_year=year.start_year,
            channel_id=channel_id,
            platform=platform,
            created_by=actor,
            created_at=now,
        )
        session.add(draft)
        session.flush()
        history.record(
            session,
            actor=actor,
            subject="draft",
            subject_id=draft.id,
            action="started",
            at=now,
            changes={"authority": authority.slug, "year": year.label, "channel": channel_id},
        )
    return new_version(runtime, session, draft, actor=actor)


def new_version(
    runtime: Runtime, session: Session, draft: Draft, *, actor: str, post: bool = True
) -> Outcome:
    """Re-assemble the letter as the draft's next version, and queue its messages (unless
    `post` is False); `Outcome.posted` says whether they were queued.

    Change requests on earlier versions are resolved by it; their approvals do not carry over.
    """
    now = runtime.now()
    year = ReviewYear(draft.review_year)
    elements, warnings = build_checked(runtime, session, draft.authority, year)
    number = current(draft).number + 1 if draft.versions else 1
    version = DraftVersion(
        draft=draft,
        number=number,
        body=render.to_markup(elements),
        warnings=warnings,
        created_by=actor,
        created_at=now,
    )
    session.add(version)
    session.flush()
    older = [v.id for v in draft.versions if v.id != version.id]
    if older:
        for review in session.scalars(
            select(Review).where(
                Review.version_id.in_(older),
                Review.decision == Decision.REQUEST_CHANGES,
                Review.resolved_at.is_(None),
            )
        ):
            review.resolved_at = now
    history.record(
        session,
        actor=actor,
        subject="draft",
        subject_id=draft.id,
        action="version",
        at=now,
        changes={"version": number},
    )
    if post:
        draft_outbox.enqueue_version(runtime, session, draft, version, now=now)
    return Outcome(draft, version, post)


# -- the letter as text ----------------------------------------------------------------
def _elements(version: DraftVersion) -> list[render.Element]:
    return render.parse(version.body)


def text_lines(version: DraftVersion) -> list[str]:
    """The version's letter as plain text lines (blank lines left out)."""
    return [line for line in render.to_text(_elements(version)).splitlines() if line.strip()]


def changes(old: list[str], new: list[str]) -> dict[str, list[Any]]:
    """Lines added, removed and changed (old, new) from one version's text to the next."""
    added: list[str] = []
    removed: list[str] = []
    changed: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "insert":
            added.extend(new[j1:j2])
        elif op == "delete":
            removed.extend(old[i1:i2])
        elif op == "replace":
            pairs = min(i2 - i1, j2 - j1)
            changed.extend(zip(old[i1 : i1 + pairs], new[j1 : j1 + pairs], strict=True))
            removed.extend(old[i1 + pairs : i2])
            added.extend(new[j1 + pairs : j2])
    return {"added": added, "removed": removed, "changed": changed}


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
        # Welsh-workflow hook (bot.translation): a Welsh-language letter now owes its Welsh.
        translation.english_approved(session, draft, version, now=now, actor=actor)
    elif not state.approved:
        version.approved_at = None
    reminders.draft_decided(session, draft, now=now)
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
