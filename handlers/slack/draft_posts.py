"""Posting draft letters: what a draft's versions and decisions put in the outbox, and how
the Slack sender renders those rows.

Queued in the same transaction as the record that causes them (`enqueue_version`,
`enqueue_decision`), one outbox row per Slack message, all of one draft in one
conversation so they go out in order: a version's parts, the parent's refresh, its
.docx; a decision's note, the refresh, the approved letter. The rows hold ids and part
numbers; the blocks are built when the row is sent (`render`), from the version's stored
body, which never changes. `after_sent` records what Slack answered (the thread's ts, the
file id) in the transaction that marks the row sent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import drafts, history, outbox, reminders, translation
from bot.dates import ReviewYear
from bot.letters import render as letter_render
from bot.letters import version_file
from bot.runtime import Runtime
from db.models import (
    Delivery,
    Draft,
    DraftVersion,
    Language,
    Review,
    Translation,
    WelshReview,
    WelshText,
)
from handlers.slack import letter_blocks as blocks
from handlers.slack import text as slack_text
from handlers.slack.text import visible

PART, PARENT, DOCX, NOTE = "draft-part", "draft-parent", "draft-docx", "draft-note"
# The Welsh workflow in the same thread: the translation pack (an upload), and the notes
# of a recorded Welsh upload (with its review buttons) and of the decisions on it.
WELSH_PACK, WELSH_NOTE = "welsh-pack", "welsh-note"
KINDS = (PART, PARENT, DOCX, NOTE, WELSH_PACK, WELSH_NOTE)


def conversation(draft: Draft) -> str:
    """The outbox conversation of a draft: its rows go out in the order they were queued."""
    return f"draft:{draft.id}"


# -- queueing ------------------------------------------------------------------------------
def _enqueue(
    session: Session, draft: Draft, *, key: str, kind: str, action: str, now: dt.datetime, **payload
) -> Delivery:
    return outbox.enqueue(
        session,
        key=key,
        kind=kind,
        action=action,
        channel=draft.channel_id,
        conversation=conversation(draft),
        draft_id=draft.id,
        due_at=now,
        payload=payload,
    )


def enqueue_version(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion, *, now: dt.datetime
) -> None:
    """Queue a version's messages: each part, the parent's refresh (later versions), the .docx."""
    parts = len(_messages(runtime, session, draft, version))
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
    # One refresh waiting is enough: it shows the state as it is when it goes out.
    waiting = session.scalar(
        select(Delivery.id).where(
            Delivery.conversation == conversation(draft),
            Delivery.kind == PARENT,
            Delivery.sent_at.is_(None),
            Delivery.cancelled_at.is_(None),
            Delivery.claimed_at.is_(None),
        )
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


# -- rendering for Slack ------------------------------------------------------------------------
@dataclass
class Rendered:
    """A row as Slack gets it, or why it is no longer owed."""

    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    ts: str | None = None
    content: bytes | None = None
    filename: str | None = None
    title: str | None = None
    comment: str | None = None  # an upload's message
    dropped: str | None = None


def render(runtime: Runtime, session: Session, row: Delivery) -> Rendered:
    """What the Slack sender sends for one of a draft's outbox rows."""
    draft = session.get(Draft, row.draft_id) if row.draft_id else None
    if draft is None:
        return Rendered(dropped="the draft no longer exists")
    payload = row.payload or {}
    version = session.get(DraftVersion, payload["version_id"]) if "version_id" in payload else None
    starts_thread = (
        row.kind == PART and payload.get("part") == 1 and version and version.number == 1
    )
    if draft.thread_ts is None and not starts_thread:
        # Its first message was given up (channel gone, say): nothing to add to.
        return Rendered(dropped="the draft's first message was never posted")
    if row.kind == PARENT:
        text, parent, _ = parent_message(runtime, session, draft, drafts.current(draft))
        return Rendered(text=text, blocks=parent, ts=draft.thread_ts)
    assert version is not None
    if row.kind == PART:
        part = int(payload["part"])
        messages = _messages(runtime, session, draft, version)
        text, block_list = messages[part - 1]
        return Rendered(
            text=text, blocks=block_list, thread_ts=None if starts_thread else draft.thread_ts
        )
    if row.kind == WELSH_PACK:
        return _welsh_pack(runtime, session, draft, version)
    if row.kind == WELSH_NOTE:
        return _welsh_note(runtime, session, draft, row)
    data = _context(runtime, session, draft, version)
    if row.kind == DOCX:
        approved = bool(payload.get("approved"))
        made = version_file.version_docx(runtime, version, approved=approved)
        return Rendered(
            thread_ts=draft.thread_ts,
            content=made.content,
            filename=made.filename,
            title=made.title,
        )
    if payload.get("what") == "change_request":
        review = session.get(Review, payload["review_id"])
        if review is None:
            return Rendered(dropped="the change request no longer exists")
        text = runtime.templates.message(
            "draft_change_request", user=review.user_id, reason=review.reason, **data
        )
        return Rendered(
            text=text,
            blocks=[blocks.section(p) for p in split_message(text)],
            thread_ts=draft.thread_ts,
        )
    text = runtime.templates.message("draft_approved", **data)
    return Rendered(text=text, blocks=[blocks.section(text)], thread_ts=draft.thread_ts)


def _welsh_pack(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion
) -> Rendered:
    owed = translation.for_version(session, version.id)
    if owed is None:
        return Rendered(dropped="no Welsh is owed for this version")
    if owed.pack_file_id is not None:
        return Rendered(dropped="the translation pack was posted already")
    title, filename = translation.pack_names(runtime, draft, version)
    return Rendered(
        thread_ts=draft.thread_ts,
        content=translation.pack_document(runtime, draft, version),
        filename=filename,
        title=title,
        comment=runtime.templates.message(
            "welsh_pack_posted", version=version, welsh_council=draft.authority.welsh_name
        ),
    )


def _welsh_note(runtime: Runtime, session: Session, draft: Draft, row: Delivery) -> Rendered:
    payload = row.payload or {}
    text = session.get(WelshText, payload["text_id"])
    if text is None:
        return Rendered(dropped="the Welsh text no longer exists")
    version = text.translation.version
    extra: list[dict[str, Any]] = []
    what = payload.get("what")
    if what == "recorded":
        message = runtime.templates.message(
            "welsh_recorded",
            text=text,
            version=version,
            replaced=text.revision - 1 if text.revision > 1 else None,
            empty_rows=payload.get("empty_rows") or [],
        )
        extra = [welsh_buttons(runtime, text.id)]
    elif what == "change_request":
        review = session.get(WelshReview, payload.get("review_id"))
        if review is None:
            return Rendered(dropped="the change request no longer exists")
        message = runtime.templates.message(
            "welsh_change_request", user=review.user_id, reason=review.reason, text=text
        )
    else:
        tally = translation.welsh_tally(session, text, runtime.settings.required_approvals)
        message = runtime.templates.message(
            "welsh_approved", text=text, version=version, tally=tally
        )
    return Rendered(
        text=message,
        blocks=[*(blocks.section(p) for p in blocks.split_text(message)), *extra],
        thread_ts=draft.thread_ts,
    )


def welsh_buttons(runtime: Runtime, text_id: int) -> dict[str, Any]:
    """Approve Welsh / Request changes to Welsh, for one Welsh revision."""
    labels = runtime.templates.messages.get_template("welsh_labels.j2").module.labels
    return {
        "type": "actions",
        "block_id": "welsh_review",
        "elements": [
            {
                "type": "button",
                "action_id": translation.APPROVE,
                "style": "primary",
                "text": {"type": "plain_text", "text": labels["approve"]},
                "value": str(text_id),
            },
            {
                "type": "button",
                "action_id": translation.REQUEST_CHANGES,
                "text": {"type": "plain_text", "text": labels["request_changes"]},
                "value": str(text_id),
            },
        ],
    }


def after_sent(
    session: Session, row: Delivery, *, ts: str | None, file_id: str | None, now: dt.datetime
) -> None:
    """Record what Slack answered for a draft's row (in the transaction marking it sent)."""
    draft = session.get(Draft, row.draft_id) if row.draft_id else None
    payload = row.payload or {}
    version = session.get(DraftVersion, payload["version_id"]) if "version_id" in payload else None
    if draft is None or version is None:
        return
    if row.kind == PART:
        if payload.get("part") == 1:
            version.message_ts = ts
            if version.number == 1 and draft.thread_ts is None:
                draft.thread_ts = ts
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
            reminders.draft_posted(session, draft, version, now=now)
    elif row.kind == WELSH_PACK:
        owed = session.scalar(select(Translation).where(Translation.version_id == version.id))
        if owed is not None and owed.pack_file_id is None:
            owed.pack_file_id = file_id
            history.record(
                session,
                actor="bot",
                subject="draft",
                subject_id=draft.id,
                action="welsh pack",
                at=now,
                changes={"version": version.number, "file_id": file_id},
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
                changes={"version": version.number, "file_id": file_id},
            )
        else:
            version.file_id = file_id
    session.flush()


# -- Slack messages of a draft -------------------------------------------------------------------
def _elements(version: DraftVersion) -> list[letter_render.Element]:
    return letter_render.parse(version.body)


def _labels(runtime: Runtime) -> Any:
    return runtime.templates.messages.get_template("draft_labels.j2").module.labels


def _context(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion
) -> dict[str, Any]:
    state = drafts.tally(session, version, runtime.settings.required_approvals)
    return {
        "council": draft.authority.english_name,
        "year": ReviewYear(draft.review_year),
        "version": version,
        "author": version.created_by,
        "tally": state,
        "status": state.status,
        "welsh": draft.authority.language in (Language.CY, Language.BOTH),
        "language": draft.authority.language.value,
        # Welsh-workflow hook (bot.translation): the Welsh line, and the status awaiting Welsh.
        **translation.context(runtime, session, draft, version, state.approved),
        "warnings": version.warnings or [],
    }


def _messages(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion
) -> list[tuple[str, list[dict]]]:
    # Every message of a version, in order: (notification text, blocks).
    if version.number == 1:
        text, parent, continuations = parent_message(runtime, session, draft, version)
        out = [(text, parent)]
        for number, more in enumerate(continuations, start=2):
            note = runtime.templates.message(
                "draft_continued",
                part=number,
                parts=len(continuations) + 1,
                **_context(runtime, session, draft, version),
            )
            out.append((note, more))
        return out
    text, messages = version_messages(runtime, session, draft, version)
    return [(text, more) for more in messages]


def parent_message(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion | None = None
) -> tuple[str, list[dict], list[list[dict]]]:
    """The parent message of a draft (text, blocks) showing `version` (default: the current
    one), and the letter's continuation messages."""
    version = version or drafts.current(draft)
    data = _context(runtime, session, draft, version)
    labels = _labels(runtime)
    letter = blocks.letter_blocks(_elements(version))
    top = [
        blocks.header(visible(runtime.templates.message("draft_title", **data))),
        blocks.section(runtime.templates.message("draft_parent", continued=False, **data)),
        {
            "type": "actions",
            "block_id": "draft_review",
            "elements": [
                {
                    "type": "button",
                    "action_id": drafts.APPROVE,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": labels["approve"]},
                    "value": str(version.id),
                },
                {
                    "type": "button",
                    "action_id": drafts.REQUEST_CHANGES,
                    "style": "danger",
                    "text": {"type": "plain_text", "text": labels["request_changes"]},
                    "value": str(version.id),
                },
                {
                    "type": "button",
                    "action_id": drafts.NEW_VERSION,
                    "text": {"type": "plain_text", "text": labels["new_version"]},
                    "value": str(version.id),
                },
            ],
        },
        {"type": "divider"},
    ]
    room = blocks.MESSAGE_BLOCKS - len(top)
    continuations: list[list[dict]] = []
    if len(letter) > room:
        # One block is kept for the note that the letter goes on in the thread.
        shown, rest = letter[: room - 1], letter[room - 1 :]
        top[1] = blocks.section(runtime.templates.message("draft_parent", continued=True, **data))
        letter = shown
        continuations = blocks.messages(rest, first_capacity=blocks.MESSAGE_BLOCKS)
        letter.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": runtime.templates.message("draft_continued_note", **data),
                    }
                ],
            }
        )
    text = runtime.templates.message("draft_parent_text", **data)
    return text, top + letter, continuations


def split_message(text: str) -> list[str]:
    """A long rendered message, cut between lines (else words) into section-sized pieces."""
    return slack_text.split_mrkdwn(text, blocks.SECTION_LIMIT)


def version_messages(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion
) -> tuple[str, list[list[dict]]]:
    """A later version as posted in the thread: what changed, then the letter."""
    data = _context(runtime, session, draft, version)
    previous = next(v for v in draft.versions if v.number == version.number - 1)
    diff = drafts.changes(drafts.text_lines(previous), drafts.text_lines(version))
    intro = runtime.templates.message("draft_version", previous=previous.number, **data)
    what = runtime.templates.message("draft_changes", previous=previous.number, **diff)
    block_list = [blocks.section(p) for p in split_message(intro)]
    block_list += [blocks.section(p) for p in split_message(what)]
    block_list.append({"type": "divider"})
    block_list += blocks.letter_blocks(_elements(version))
    return runtime.templates.message("draft_version_text", **data), blocks.messages(block_list)
