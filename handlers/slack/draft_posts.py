"""Draft letters in Slack: how the Slack sender renders a draft's outbox rows.

`bot.review.draft_outbox` queues the rows (a version's parts, the parent's refresh, its .docx; a
decision's note, the refresh, the approved letter), one per Slack message. The blocks are
built when the row is sent (`render`), from the version's stored body, which never
changes. `bot.review.draft_outbox.after_sent` records what Slack answered (the thread's ts, the file id) in the
transaction that marks the row sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.letters import render as letter_render
from bot.records.dates import ReviewYear
from bot.review import draft_outbox, draft_versions, drafts, issuing, translation, version_file
from bot.runtime import Runtime
from db.models import (
    Delivery,
    Draft,
    DraftVersion,
    IssuedFile,
    Language,
    Review,
    WelshReview,
    WelshText,
)
from handlers.slack import letter_blocks as blocks
from handlers.slack import text as slack_text
from handlers.slack.text import visible

# What a draft's rows are (queued by `bot.review.draft_outbox`).
KINDS = draft_outbox.KINDS
PART, PARENT, DOCX, NOTE = (
    draft_outbox.PART,
    draft_outbox.PARENT,
    draft_outbox.DOCX,
    draft_outbox.NOTE,
)
WELSH_PACK, WELSH_NOTE = draft_outbox.WELSH_PACK, draft_outbox.WELSH_NOTE
FINAL = draft_outbox.FINAL
LIFE_NOTES = draft_outbox.LIFE_NOTES


def parts(runtime: Runtime, session: Session, draft: Draft, version: DraftVersion) -> int:
    """How many Slack messages a version's text takes (the rows `enqueue_version` queues)."""
    return len(_messages(runtime, session, draft, version))


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
    if row.kind == FINAL:
        return _final(session, draft, payload)
    if payload.get("what") in LIFE_NOTES:
        text = slack_text.templates(runtime).message(LIFE_NOTES[payload["what"]], **data)
        return Rendered(text=text, blocks=[blocks.section(text)], thread_ts=draft.thread_ts)
    if payload.get("what") == "change_request":
        review = session.get(Review, payload["review_id"])
        if review is None:
            return Rendered(dropped="the change request no longer exists")
        text = slack_text.templates(runtime).message(
            "draft_change_request", user=review.user_id, reason=review.reason, **data
        )
        return Rendered(
            text=text,
            blocks=[blocks.section(p) for p in split_message(text)],
            thread_ts=draft.thread_ts,
        )
    text = slack_text.templates(runtime).message("draft_approved", **data)
    return Rendered(text=text, blocks=[blocks.section(text)], thread_ts=draft.thread_ts)


def _final(session: Session, draft: Draft, payload: dict[str, Any]) -> Rendered:
    # An issued letter's final file, uploaded as it was kept when the letter was issued.
    file = session.get(IssuedFile, payload.get("issued_file_id"))
    if file is None:
        return Rendered(dropped="the issued file no longer exists")
    return Rendered(
        thread_ts=draft.thread_ts, content=file.content, filename=file.name, title=file.title
    )


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
        comment=slack_text.templates(runtime).message(
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
        message = slack_text.templates(runtime).message(
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
        message = slack_text.templates(runtime).message(
            "welsh_change_request", user=review.user_id, reason=review.reason, text=text
        )
    else:
        tally = translation.welsh_tally(session, text, runtime.settings.required_approvals)
        message = slack_text.templates(runtime).message(
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
        # Welsh-workflow hook (bot.review.translation): the Welsh line, and the status awaiting Welsh.
        **translation.context(runtime, session, draft, version, state.approved),
        # After the issue: issued or published, or the issue a later version amends.
        **issuing.context(session, draft, version),
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
            note = slack_text.templates(runtime).message(
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
    title = blocks.header(visible(slack_text.templates(runtime).message("draft_title", **data)))

    def summary(continued: bool) -> list[dict]:
        # The version, its status and what the letter lacks: more than a section holds when
        # many warnings quote typed text Slack's escaping lengthens, so as many as it takes.
        said = slack_text.templates(runtime).message("draft_parent", continued=continued, **data)
        return [blocks.section(piece) for piece in split_message(said)]

    review = [
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
    top = [title, *summary(False), *review]
    room = blocks.MESSAGE_BLOCKS - len(top)
    continuations: list[list[dict]] = []
    if len(letter) > room:
        top = [title, *summary(True), *review]
        room = blocks.MESSAGE_BLOCKS - len(top)
        # One block is kept for the note that the letter goes on in the thread.
        shown, rest = letter[: room - 1], letter[room - 1 :]
        letter = shown
        continuations = blocks.messages(rest, first_capacity=blocks.MESSAGE_BLOCKS)
        letter.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": slack_text.templates(runtime).message(
                            "draft_continued_note", **data
                        ),
                    }
                ],
            }
        )
    text = slack_text.templates(runtime).message("draft_parent_text", **data)
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
    diff = draft_versions.changes(
        draft_versions.text_lines(previous), draft_versions.text_lines(version)
    )
    intro = slack_text.templates(runtime).message("draft_version", previous=previous.number, **data)
    what = slack_text.templates(runtime).message("draft_changes", previous=previous.number, **diff)
    block_list = [blocks.section(p) for p in split_message(intro)]
    block_list += [blocks.section(p) for p in split_message(what)]
    block_list.append({"type": "divider"})
    block_list += blocks.letter_blocks(_elements(version))
    return slack_text.templates(runtime).message("draft_version_text", **data), blocks.messages(
        block_list
    )
