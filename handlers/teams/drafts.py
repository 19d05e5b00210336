"""Draft letters in Teams: how the Teams sender renders a draft's outbox rows.

`bot.review.draft_outbox` queues them, one row per Teams message, all in the draft's
conversation so they go out in order. In Teams (SPEC "Microsoft Teams"):

- PART: version 1's first part is the review card itself (title, version, status,
  approvals, what the letter still lacks, Approve / Request changes / New version),
  posted at the top of the channel: the root of the draft's reply chain. The letter's
  text follows in the chain, shared out over as many cards as fit Teams' size limit
  (`parts` says how many). A later version goes into the same chain: what changed, then
  the letter. `bot.review.draft_outbox.after_sent` keeps the root's activity id on `Draft.thread_ts` and each
  version's first message on `DraftVersion.message_ts`, as Slack keeps its ts.
- PARENT (an update): the review card, as the draft is now, put in place of the root.
- DOCX: a message in the chain with the version's download link
  (`PUBLIC_URL/files/<token>`, `bot.review.file_links`), since a bot cannot upload into a channel.
- NOTE: a change request's reason, or the approval.
- WELSH_PACK, WELSH_NOTE: the Welsh workflow's notes: the translation pack as a download
  link (`PUBLIC_URL/files/<token>`) with how to send it back (to the bot, in the
  translator's personal chat: `handlers.teams.welsh`); a recorded Welsh text, saying who
  sent it, with its own review buttons; the decisions on it.

The cards are built when the row is sent, from the version's stored body, which never
changes; only the review card shows the state of the moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.letters import render as letter_render
from bot.records.dates import ReviewYear
from bot.review import (
    draft_outbox,
    draft_versions,
    drafts,
    file_links,
    issuing,
    translation,
    version_file,
)
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
from handlers.teams import cards
from handlers.teams import text as teams_text
from handlers.teams.text import escape

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

# Room kept on a later version's first message for names, whose length may differ
# between counting the parts (when queued) and sending them.
NAME_MARGIN = 2048
LINK_ACTOR = "bot"


@dataclass
class Rendered:
    """A draft row as Teams gets it, or why it is no longer owed."""

    activities: list[dict[str, Any]] = field(default_factory=list)
    thread: str | None = None  # the root activity to reply under; None: the channel itself
    update_id: str | None = None  # the activity an update replaces
    dropped: str | None = None


# -- counting -------------------------------------------------------------------------------
def parts(runtime: Runtime, session: Session, draft: Draft, version: DraftVersion) -> int:
    """How many Teams messages a version takes (the PART rows `enqueue_version` queues)."""
    return len(_messages(runtime, session, draft, version))


# -- rendering -----------------------------------------------------------------------------
def render(runtime: Runtime, session: Session, row: Delivery, *, now: dt.datetime) -> Rendered:
    """What the Teams sender sends for one of a draft's rows (inside its claim's
    transaction: a download link is issued here)."""
    draft = session.get(Draft, row.draft_id) if row.draft_id else None
    if draft is None:
        return Rendered(dropped="the draft no longer exists")
    payload = row.payload or {}
    version = session.get(DraftVersion, payload["version_id"]) if "version_id" in payload else None
    starts_chain = bool(
        row.kind == PART and payload.get("part") == 1 and version and version.number == 1
    )
    if draft.thread_ts is None and not starts_chain:
        return Rendered(dropped="the draft's review card was never posted")
    with teams_text.names(session):
        if row.kind == PARENT:
            card = review_card(runtime, session, draft, drafts.current(draft))
            return Rendered([_activity(card)], update_id=draft.thread_ts)
        assert version is not None
        if row.kind == PART:
            part = int(payload["part"])
            messages = _messages(runtime, session, draft, version)
            if part > len(messages):
                return Rendered(dropped=f"the letter takes {len(messages)} messages now")
            return Rendered([messages[part - 1]], thread=None if starts_chain else draft.thread_ts)
        if row.kind == DOCX:
            return _docx(runtime, session, draft, version, bool(payload.get("approved")), now)
        if row.kind == WELSH_PACK:
            return _welsh_pack(runtime, session, draft, version, now)
        if row.kind == FINAL:
            return _final(runtime, session, draft, version, payload, now)
        if row.kind == WELSH_NOTE:
            return _welsh_note(runtime, session, draft, row)
        data = _context(runtime, session, draft, version)
        if payload.get("what") in LIFE_NOTES:
            text = teams_text.templates(runtime).message(LIFE_NOTES[payload["what"]], **data)
            return Rendered(_note(text), thread=draft.thread_ts)
        if payload.get("what") == "change_request":
            review = session.get(Review, payload["review_id"])
            if review is None:
                return Rendered(dropped="the change request no longer exists")
            text = teams_text.templates(runtime).message(
                "draft_change_request", user=review.user_id, reason=review.reason, **data
            )
        else:
            text = teams_text.templates(runtime).message("draft_approved", **data)
        return Rendered(_note(text), thread=draft.thread_ts)


def _activity(card: cards.Card) -> dict[str, Any]:
    return cards.activity(card, summary=_summary(card))


def _summary(card: cards.Card) -> str:
    first = next((b for b in card.get("body", []) if b.get("type") == "TextBlock"), None)
    return cards.summary_of(first["text"]) if first else ""


def _note(text: str, actions: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    # A note in the chain: one card (several if it were ever too big for one).
    body = cards.blocks_of(text)
    whole = cards.card_of(body, actions or [])
    if cards.activity_size(_activity(whole)) <= cards.BUDGET:
        return [_activity(whole)]
    groups = cards.pack(body, lambda blocks, _: _activity(cards.card_of(blocks)))
    made = [_activity(cards.card_of(g)) for g in groups]
    made[-1]["attachments"][0]["content"] = cards.card_of(groups[-1], actions or [])
    return made


# -- the review card ---------------------------------------------------------------------
def _labels(runtime: Runtime, name: str = "draft_labels.j2") -> Any:
    return runtime.templates.messages.get_template(name).module.labels


def _reason_missing(runtime: Runtime) -> str:
    # What an empty reason box says: the error Slack's change-request forms show.
    return teams_text.visible(teams_text.templates(runtime).message("errors/draft_missing_reason"))


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
        **translation.context(runtime, session, draft, version, state.approved),
        # After the issue: issued or published, or the issue a later version amends.
        **issuing.context(session, draft, version),
        "warnings": version.warnings or [],
    }


def review_card(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion
) -> cards.Card:
    """The draft's review card showing `version` as it stands: title, version, status,
    approvals, what the letter still lacks, and the review buttons (Action.Execute, the
    version's id as their value; Request changes asks for the reason on the card)."""
    data = _context(runtime, session, draft, version)
    words = teams_text.templates(runtime)
    title = teams_text.visible(words.message("draft_title", **data))
    card = cards.review_card(
        title=title,
        text=words.message("draft_parent", continued=False, **data),
        value=str(version.id),
        labels=_labels(runtime),
        approve=drafts.APPROVE,
        request_changes=drafts.REQUEST_CHANGES,
        reason_missing=_reason_missing(runtime),
        new_version=drafts.NEW_VERSION,
        reason_limit=drafts.MAX_REASON,
    )
    pending = welsh_to_review(session, draft, version)
    if pending is not None:
        # Approved in English, a Welsh text sent in and not yet approved: what is left to
        # decide is the Welsh, so the card's buttons are the Welsh review's (New version
        # stays, for a change to the English).
        new = [a for a in card["actions"] if a.get("verb") == drafts.NEW_VERSION]
        card["actions"] = [*welsh_actions(runtime, pending.id), *new]
    return card


def welsh_to_review(session: Session, draft: Draft, version: DraftVersion) -> WelshText | None:
    """The newest Welsh revision of the draft's current version, while it awaits its
    decision (the version approved in English, that revision not approved)."""
    if version.approved_at is None or drafts.current(draft).id != version.id:
        return None
    owed = translation.for_version(session, version.id)
    text = translation.latest(owed) if owed is not None else None
    if text is None or text.approved_at is not None:
        return None
    return text


# -- the letter ------------------------------------------------------------------------------
_SAFE_URL = ("https://", "http://", "mailto:")


def line_markdown(text: str) -> str:
    """A line of the letter in Teams Markdown: its text escaped, its links kept as links."""
    out = []
    for label, url in letter_render.segments(text):
        if url is None:
            out.append(escape(label))
        elif url.startswith(_SAFE_URL) and not any(c in url for c in "()<>\"'` "):
            out.append(f"[{escape(label)}]({url})")
        else:
            out.append(escape(f"{label} ({url})"))
    return "".join(out)


def letter_blocks(elements: list[letter_render.Element]) -> list[cards.Block]:
    """The letter as card elements: the subject large, section headings bold after a
    separator, principle headings bold, each paragraph a TextBlock (its lines kept apart),
    consecutive list items one list."""
    blocks: list[cards.Block] = []
    items: list[str] = []

    def flush() -> None:
        if items:
            blocks.append(cards.text_block("\n".join(items), spacing="Medium"))
            items.clear()

    for element in elements:
        if element.kind == "item":
            items.append("- " + line_markdown(element.text))
            continue
        flush()
        if element.kind == "heading":
            text = f"**{escape(element.text)}**"
            if element.level == 1:
                blocks.append(cards.text_block(text, size="Large", spacing="Large"))
            elif element.level == 2:
                blocks.append(
                    cards.text_block(text, size="Medium", separator=True, spacing="Large")
                )
            else:
                blocks.append(cards.text_block(text, spacing="Medium"))
            continue
        text = "\n\n".join(line_markdown(line) for line in element.lines)
        blocks.append(cards.text_block(text, spacing="Medium"))
    flush()
    return blocks


def _continued(
    runtime: Runtime,
    session: Session,
    draft: Draft,
    version: DraftVersion,
    part: int,
    count: int,
) -> cards.Block:
    words = teams_text.templates(runtime)
    note = words.message(
        "draft_continued", part=part, parts=count, **_context(runtime, session, draft, version)
    )
    return cards.text_block(note, isSubtle=True, weight="Bolder")


def _letter_messages(
    runtime: Runtime,
    session: Session,
    draft: Draft,
    version: DraftVersion,
    lead: list[cards.Block],
    first_part: int,
) -> list[dict[str, Any]]:
    # The letter's cards after `lead` (a later version's intro), each headed by its part
    # number; counted with room for three-digit numbers, then numbered for real.
    body = lead + letter_blocks(letter_render.parse(version.body))

    def wrap(blocks: list[cards.Block], index: int, count: int = 999) -> dict[str, Any]:
        head = [_continued(runtime, session, draft, version, first_part + index, count)]
        return _activity(cards.card_of(head + blocks))

    groups = cards.pack(body, wrap, first_margin=NAME_MARGIN if lead else 0)
    total = first_part - 1 + len(groups)
    return [wrap(group, index, total) for index, group in enumerate(groups)]


def _messages(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion
) -> list[dict[str, Any]]:
    # Every message of a version, in order, as activities.
    with teams_text.names(session):
        if version.number == 1:
            card = _activity(review_card(runtime, session, draft, version))
            return [card, *_letter_messages(runtime, session, draft, version, [], 2)]
        data = _context(runtime, session, draft, version)
        words = teams_text.templates(runtime)
        previous = next(v for v in draft.versions if v.number == version.number - 1)
        diff = draft_versions.changes(
            draft_versions.text_lines(previous), draft_versions.text_lines(version)
        )
        intro = words.message("draft_version", previous=previous.number, **data)
        what = words.message("draft_changes", previous=previous.number, **diff)
        lead = [*cards.blocks_of(intro), *cards.blocks_of(what)]
        return _letter_messages(runtime, session, draft, version, lead, 1)


# -- the Word file, as a link ------------------------------------------------------------
def download_url(
    runtime: Runtime,
    session: Session,
    version: DraftVersion,
    *,
    now: dt.datetime,
    kind: str = file_links.DRAFT,
) -> str | None:
    """A new download link to one of the version's files (`bot.review.file_links`: its
    letter, or with `kind` its translation pack), or None when the bot has no PUBLIC_URL to
    serve it from (no link is made then)."""
    return file_links.create(
        session, version, runtime.settings, now=now, actor=LINK_ACTOR, kind=kind
    )


def _docx(
    runtime: Runtime,
    session: Session,
    draft: Draft,
    version: DraftVersion,
    approved: bool,
    now: dt.datetime,
) -> Rendered:
    url = download_url(runtime, session, version, now=now)
    text = teams_text.templates(runtime).message(
        "teams_docx_link",
        url=url,
        approved=approved,
        version=version,
        filename=version_file.filename(version, approved=approved),
        days=file_links.LIFETIME.days,
    )
    return Rendered(_note(text), thread=draft.thread_ts)


def _final(
    runtime: Runtime,
    session: Session,
    draft: Draft,
    version: DraftVersion,
    payload: dict[str, Any],
    now: dt.datetime,
) -> Rendered:
    # An issued letter's final file as a link in the chain: its bytes as they were kept.
    file = session.get(IssuedFile, payload.get("issued_file_id"))
    if file is None:
        return Rendered(dropped="the issued file no longer exists")
    url = file_links.create(
        session,
        version,
        runtime.settings,
        now=now,
        actor=LINK_ACTOR,
        kind=file_links.FINAL,
        issued_file=file,
    )
    text = teams_text.templates(runtime).message(
        "teams_final_link",
        url=url,
        name=file.name,
        welsh=file.language == "cy",
        slug=draft.authority.slug,
        year=ReviewYear(draft.review_year),
        days=file_links.LIFETIME.days,
    )
    return Rendered(_note(text), thread=draft.thread_ts)


def _welsh_pack(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion, now: dt.datetime
) -> Rendered:
    # The pack as a link in the chain (a bot cannot upload into a channel), and how the
    # translator sends it back: to the bot in their personal chat, the one place Teams
    # hands a bot a file.
    owed = translation.for_version(session, version.id)
    if owed is None:
        return Rendered(dropped="no Welsh is owed for this version")
    if owed.pack_file_id is not None:
        return Rendered(dropped="the translation pack was posted already")
    _, filename = translation.pack_names(runtime, draft, version)
    note = teams_text.templates(runtime).message(
        "teams_pack_link",
        url=download_url(runtime, session, version, now=now, kind=file_links.PACK),
        filename=filename,
        days=file_links.LIFETIME.days,
        version=version,
        welsh_council=draft.authority.welsh_name,
        slug=draft.authority.slug,
        year=ReviewYear(draft.review_year),
    )
    return Rendered(_note(note), thread=draft.thread_ts)


def _welsh_note(runtime: Runtime, session: Session, draft: Draft, row: Delivery) -> Rendered:
    payload = row.payload or {}
    text = session.get(WelshText, payload["text_id"])
    if text is None:
        return Rendered(dropped="the Welsh text no longer exists")
    version = text.translation.version
    words = teams_text.templates(runtime)
    what = payload.get("what")
    actions: list[dict[str, Any]] = []
    if what == "recorded":
        message = words.message(
            "welsh_recorded",
            platform=draft.platform,
            text=text,
            version=version,
            replaced=text.revision - 1 if text.revision > 1 else None,
            empty_rows=payload.get("empty_rows") or [],
        )
        actions = welsh_actions(runtime, text.id)
    elif what == "change_request":
        review = session.get(WelshReview, payload.get("review_id"))
        if review is None:
            return Rendered(dropped="the change request no longer exists")
        message = words.message(
            "welsh_change_request", user=review.user_id, reason=review.reason, text=text
        )
    else:
        tally = translation.welsh_tally(session, text, runtime.settings.required_approvals)
        message = words.message("welsh_approved", text=text, version=version, tally=tally)
    return Rendered(_note(message, actions), thread=draft.thread_ts)


def welsh_actions(runtime: Runtime, text_id: int) -> list[dict[str, Any]]:
    """Approve Welsh / Request changes to Welsh (with its reason box), for one revision."""
    made = cards.review_card(
        title="",
        text="",
        value=str(text_id),
        labels=_labels(runtime, "welsh_labels.j2"),
        approve=translation.APPROVE,
        request_changes=translation.REQUEST_CHANGES,
        reason_missing=_reason_missing(runtime),
        reason_limit=translation.MAX_REASON,
    )
    return made["actions"]
