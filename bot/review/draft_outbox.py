"""What a draft's versions and decisions put in the outbox, on any platform.

Queued in the same transaction as the record that causes them, one row per message of
the draft's platform, all of one draft in one conversation so they go out in order: a
version's parts, the parent's refresh, its .docx; a decision's note, the refresh, the
approved letter; the Welsh workflow's pack and notes. The rows hold ids and part
numbers, never a platform's blocks: the platform's sender renders them when it sends
(`handlers.slack.draft_posts`, `handlers.teams.drafts`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.records import events, history
from bot.review import translation
from bot.runtime import Runtime
from db.models import (
    Delivery,
    Draft,
    DraftVersion,
    LetterIssue,
    Review,
    Translation,
    WelshReview,
    WelshText,
)

PART, PARENT, DOCX, NOTE = "draft-part", "draft-parent", "draft-docx", "draft-note"
# The Welsh workflow in the same thread: the translation pack (an upload), and the notes
# of a recorded Welsh upload (with its review buttons) and of the decisions on it.
WELSH_PACK, WELSH_NOTE = "welsh-pack", "welsh-note"
# An issued letter's final files (an upload each; Teams: a download link each).
FINAL = "final-file"
# The notes of the letter's life after approval: a NOTE row's `what` → its message template.
LIFE_NOTES = {"issued": "letter_issued_note", "published": "letter_published_note"}
KINDS = (PART, PARENT, DOCX, NOTE, WELSH_PACK, WELSH_NOTE, FINAL)


@dataclass(frozen=True)
class Posted:
    """Event: a draft version's last part reached its thread (published to
    `bot.records.events`)."""

    draft: Draft
    version: DraftVersion
    now: dt.datetime


def conversation(draft: Draft) -> str:
    """The outbox conversation of a draft: its rows go out in the order they were queued."""
    return f"draft:{draft.id}"


def _enqueue(
    session: Session, draft: Draft, *, key: str, kind: str, action: str, now: dt.datetime, **payload
) -> Delivery:
    return outbox.enqueue(
        session,
        key=key,
        kind=kind,
        action=action,
        channel=draft.channel_id,
        platform=draft.platform,
        conversation=conversation(draft),
        draft_id=draft.id,
        due_at=now,
        payload=payload,
    )


def enqueue_version(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion, *, now: dt.datetime
) -> None:
    """Queue a version's messages: each part, the parent's refresh (later versions), the .docx."""
    parts = runtime.platform(draft.platform).draft_parts(runtime, session, draft, version)
    prefix = f"draft:D{draft.id}:v{version.number}"
    for part in range(1, parts + 1):
        _enqueue(
            session,
            draft,
            key=f"{prefix}:part{part}",
            kind=PART,
            action=outbox.POST,
            now=now,
            version_id=version.id,
            part=part,
            parts=parts,
        )
    if version.number > 1:
        enqueue_refresh(session, draft, now=now)
    _enqueue(
        session,
        draft,
        key=f"{prefix}:docx",
        kind=DOCX,
        action=outbox.UPLOAD,
        now=now,
        version_id=version.id,
        approved=False,
    )


def enqueue_refresh(session: Session, draft: Draft, *, now: dt.datetime) -> None:
    """Queue an update of the draft's parent message to its state when the update goes out."""
    # One refresh waiting is enough: it shows the state as it is when it goes out. Unless a
    # sender is claiming it this moment: it may have read the state before this transaction
    # commits. FOR UPDATE waits for such a claim (PostgreSQL then reads the row again, now
    # claimed, and a new refresh is queued), and holds the row so that no sender claims it
    # until this commits (its claim skips locked rows; the kick after commit sends it).
    # SQLite needs neither: this transaction holds the only write lock by now.
    waiting = session.scalar(
        select(Delivery.id)
        .where(
            Delivery.conversation == conversation(draft),
            Delivery.kind == PARENT,
            Delivery.sent_at.is_(None),
            Delivery.cancelled_at.is_(None),
            Delivery.claimed_at.is_(None),
        )
        .with_for_update()
    )
    if waiting is None:
        _enqueue(
            session,
            draft,
            key=f"draft:D{draft.id}:refresh:{uuid.uuid4().hex}",
            kind=PARENT,
            action=outbox.UPDATE,
            now=now,
        )


def enqueue_decision(
    session: Session,
    draft: Draft,
    version: DraftVersion,
    *,
    review: Review | None,
    approved: bool,
    now: dt.datetime,
) -> None:
    """Queue what a decision shows: a change request's reason, the parent's new status, and,
    once a version is approved, the approval note and the approved .docx (once per version)."""
    prefix = f"draft:D{draft.id}:v{version.number}"
    if review is not None and review.reason:
        _enqueue(
            session,
            draft,
            key=f"draft:D{draft.id}:review{review.id}",
            kind=NOTE,
            action=outbox.POST,
            now=now,
            what="change_request",
            review_id=review.id,
            version_id=version.id,
        )
    enqueue_refresh(session, draft, now=now)
    if approved:
        _enqueue(
            session,
            draft,
            key=f"{prefix}:approved",
            kind=NOTE,
            action=outbox.POST,
            now=now,
            what="approved",
            version_id=version.id,
        )
        _enqueue(
            session,
            draft,
            key=f"{prefix}:approved-docx",
            kind=DOCX,
            action=outbox.UPLOAD,
            now=now,
            version_id=version.id,
            approved=True,
        )
        if translation.for_version(session, version.id) is not None:
            # A Welsh-language letter: its translation pack, once per version.
            _enqueue(
                session,
                draft,
                key=f"{prefix}:welsh-pack",
                kind=WELSH_PACK,
                action=outbox.UPLOAD,
                now=now,
                version_id=version.id,
            )


def enqueue_welsh(
    session: Session,
    text: WelshText,
    what: str,
    *,
    now: dt.datetime,
    review: WelshReview | None = None,
    empty_rows: list[int] | None = None,
) -> None:
    """Queue what a Welsh revision's record shows in the thread, and the parent's refresh:
    `recorded` (the upload, with the buttons that review it), `change_request` (the
    review's reason) or `approved`; once per revision (per review for a change request)."""
    version = text.translation.version
    draft = version.draft
    key = f"draft:D{draft.id}:welsh:T{text.id}:{what}"
    if review is not None:
        key = f"draft:D{draft.id}:welsh:R{review.id}"
    _enqueue(
        session,
        draft,
        key=key,
        kind=WELSH_NOTE,
        action=outbox.POST,
        now=now,
        what=what,
        version_id=version.id,
        text_id=text.id,
        review_id=review.id if review is not None else None,
        empty_rows=list(empty_rows or [])[:50],
    )
    enqueue_refresh(session, draft, now=now)


def enqueue_issue(
    session: Session, draft: Draft, version: DraftVersion, issue: LetterIssue, *, now: dt.datetime
) -> None:
    """Queue what an issue shows in the thread: its note, each final file, the parent's state."""
    prefix = f"draft:D{draft.id}:v{version.number}:issue{issue.id}"
    _enqueue(
        session,
        draft,
        key=f"{prefix}:note",
        kind=NOTE,
        action=outbox.POST,
        now=now,
        what="issued",
        version_id=version.id,
        issue_id=issue.id,
    )
    for file in issue.files:
        _enqueue(
            session,
            draft,
            key=f"{prefix}:{file.language}",
            kind=FINAL,
            action=outbox.UPLOAD,
            now=now,
            version_id=version.id,
            issue_id=issue.id,
            issued_file_id=file.id,
        )
    enqueue_refresh(session, draft, now=now)


def enqueue_published(
    session: Session, draft: Draft, issue: LetterIssue, *, now: dt.datetime
) -> None:
    """Queue the note saying where the issued letter is published, and the parent's state."""
    _enqueue(
        session,
        draft,
        key=f"draft:D{draft.id}:issue{issue.id}:published:{now.isoformat()}",
        kind=NOTE,
        action=outbox.POST,
        now=now,
        what="published",
        version_id=issue.version_id,
        issue_id=issue.id,
    )
    enqueue_refresh(session, draft, now=now)


def after_sent(
    session: Session,
    row: Delivery,
    *,
    message_id: str | None,
    file_id: str | None = None,
    now: dt.datetime,
) -> None:
    """Record what the platform answered for a draft's row, in the transaction that marks it
    sent: the first part's message (a version's, and the thread's root for version 1: Slack's
    ts, Teams' activity id), that the version is posted (its nudge planned), the pack and
    the .docx where they went (an uploaded file's id, or the message with the link)."""
    draft = session.get(Draft, row.draft_id) if row.draft_id else None
    payload = row.payload or {}
    version = session.get(DraftVersion, payload["version_id"]) if "version_id" in payload else None
    if draft is None or version is None:
        return
    where = {"file_id": file_id} if file_id else {"message": message_id}
    if row.kind == PART:
        if payload.get("part") == 1:
            version.message_ts = message_id
            if version.number == 1 and draft.thread_ts is None:
                draft.thread_ts = message_id
        if payload.get("part") == payload.get("parts"):
            history.record(
                session,
                actor=version.created_by,
                subject="draft",
                subject_id=draft.id,
                action="posted",
                at=now,
                changes={"version": version.number, "ts": version.message_ts},
            )
            events.publish(session, Posted(draft, version, now))
    elif row.kind == WELSH_PACK:
        owed = session.scalar(select(Translation).where(Translation.version_id == version.id))
        if owed is not None and owed.pack_file_id is None:
            # Where the pack went: Slack's file, or Teams' message that links it.
            owed.pack_file_id = file_id or message_id
            history.record(
                session,
                actor="bot",
                subject="draft",
                subject_id=draft.id,
                action="welsh pack",
                at=now,
                changes={"version": version.number, **where},
            )
    elif row.kind == FINAL:
        history.record(
            session,
            actor="system",
            subject="draft",
            subject_id=draft.id,
            action="final file",
            at=now,
            changes={"version": version.number, "file": payload.get("issued_file_id"), **where},
        )
    elif row.kind == DOCX:
        if payload.get("approved"):
            history.record(
                session,
                actor="system",
                subject="draft",
                subject_id=draft.id,
                action="approved docx",
                at=now,
                changes={"version": version.number, **where},
            )
        elif file_id:
            version.file_id = file_id
        else:
            history.record(
                session,
                actor="system",
                subject="draft",
                subject_id=draft.id,
                action="docx link",
                at=now,
                changes={"version": version.number, **where},
            )
    session.flush()
