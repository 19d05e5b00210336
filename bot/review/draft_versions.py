"""Making a draft's versions: the letter assembled from the records, checked, recorded with
the messages that post it (`bot.review.draft_outbox`), and what changed since the last version.

Functions take the Runtime for its settings and templates, and the caller's Session;
they never commit.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.letters import assemble, check, render
from bot.records import history
from bot.records.dates import ReviewYear
from bot.review import draft_outbox, issuing
from bot.review.drafts import current
from bot.runtime import Runtime
from db.models import Authority, Decision, Draft, DraftVersion, Review


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
    issuing.check_new_version(runtime, session, authority, year, actor=actor)
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
    issuing.check_new_version(
        runtime, session, draft.authority, ReviewYear(draft.review_year), actor=actor
    )
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
