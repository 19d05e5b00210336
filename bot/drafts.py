"""Draft letters and their review: versions, approvals, change requests, comments.

A draft is one authority's letter for one review year, reviewed in one Slack thread of
one channel. Each version is recorded first and posted second: a version Slack could
not take stays recorded with no message, and `post_pending` (run by the clock) posts it.
Functions take the Runtime for its settings, templates and Slack client, and the
caller's Session; they never commit.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import history, reminders, slack_text, translation
from bot.dates import ReviewYear
from bot.errors import UserError
from bot.letters import assemble, blocks, check, render
from bot.letters.docx import load_template, to_docx
from bot.runtime import Runtime
from bot.slack_text import unescape, visible
from db.models import Authority, Comment, Decision, Draft, DraftVersion, Language, Review

log = logging.getLogger("ciw.drafts")

APPROVE = "draft_approve"
REQUEST_CHANGES = "draft_request_changes"
NEW_VERSION = "draft_new_version"

AWAITING, CHANGES_REQUESTED, APPROVED = "awaiting review", "changes requested", "approved"
MAX_REASON = 3000
# A version this old with no message was not being posted by a live request: post it.
PENDING_AFTER = dt.timedelta(minutes=2)
# Slack refusing (ok: false after retries) or unreachable: the version stays pending.
SLACK_FAILURES = (SlackClientError, OSError)


# -- reading -------------------------------------------------------------------------
@dataclass(frozen=True)
class Tally:
    """Where the review of one version stands."""

    approvers: tuple[str, ...]
    open_requests: int
    required: int

    @property
    def approvals(self) -> int:
        """Approvals standing on the version."""
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


@dataclass(frozen=True)
class DraftSummary:
    """A draft as `/ciw list` shows it."""

    version: int
    status: str
    channel_id: str


def current(draft: Draft) -> DraftVersion:
    """The draft's newest version."""
    return draft.versions[-1]


def _tally_of(reviews: list[Review], required: int) -> Tally:
    # A reviewer's latest decision on the version is the one that stands.
    latest: dict[str, Review] = {}
    for review in sorted(reviews, key=lambda r: (r.at, r.id)):
        latest[review.user_id] = review
    approvers = tuple(u for u, r in latest.items() if r.decision is Decision.APPROVE)
    open_requests = sum(
        1 for r in reviews if r.decision is Decision.REQUEST_CHANGES and r.resolved_at is None
    )
    return Tally(approvers, open_requests, required)


def tally(session: Session, version: DraftVersion, required: int) -> Tally:
    """The approvals and open change requests on a version."""
    reviews = list(session.scalars(select(Review).where(Review.version_id == version.id)))
    return _tally_of(reviews, required)


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
                session, current(d), _tally_of(reviews[current(d).id], required).status
            ),
            d.channel_id,
        )
        for d in drafts
    ]


# -- where drafts may go ---------------------------------------------------------------
def check_channel(runtime: Runtime, channel_id: str) -> None:
    """Refuse a channel a draft may not go to: public (unless allowed) or out of reach."""
    try:
        info: dict[str, Any] = runtime.client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError:
        raise UserError("draft_channel_unavailable") from None
    if info.get("is_mpim"):
        # The manifest has no message.mpim: the bot never hears a group DM's thread replies.
        raise UserError("draft_group_dm")
    public = bool(info.get("is_channel")) and not info.get("is_private")
    if public and not runtime.settings.allow_public_drafts:
        raise UserError("draft_public_channel")
    if (info.get("is_channel") or info.get("is_group")) and info.get("is_member") is False:
        raise UserError("draft_not_in_channel")


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
    """Re-assemble the letter as the draft's next version, and post it (unless `post` is False).

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
    posted = publish(runtime, session, draft, version) if post else False
    return Outcome(draft, version, posted)


# -- Slack -----------------------------------------------------------------------------
def _elements(version: DraftVersion) -> list[render.Element]:
    return render.parse(version.body)


def text_lines(version: DraftVersion) -> list[str]:
    """The version's letter as plain text lines (blank lines left out)."""
    return [line for line in render.to_text(_elements(version)).splitlines() if line.strip()]


def _labels(runtime: Runtime) -> Any:
    return runtime.templates.messages.get_template("draft_labels.j2").module.labels


def _context(
    runtime: Runtime,
    session: Session,
    draft: Draft,
    version: DraftVersion,
) -> dict[str, Any]:
    state = tally(session, version, runtime.settings.required_approvals)
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


def parent_message(
    runtime: Runtime, session: Session, draft: Draft
) -> tuple[str, list[dict], list[list[dict]]]:
    """The parent message of a draft (text, blocks) and the letter's continuation messages."""
    version = current(draft)
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
                    "action_id": APPROVE,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": labels["approve"]},
                    "value": str(version.id),
                },
                {
                    "type": "button",
                    "action_id": REQUEST_CHANGES,
                    "style": "danger",
                    "text": {"type": "plain_text", "text": labels["request_changes"]},
                    "value": str(version.id),
                },
                {
                    "type": "button",
                    "action_id": NEW_VERSION,
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


def _post(
    runtime: Runtime, channel: str, text: str, block_list: list[dict], thread_ts: str | None = None
) -> str:
    answer = runtime.client.chat_postMessage(
        channel=channel,
        text=text,
        blocks=block_list,
        thread_ts=thread_ts,
        unfurl_links=False,
        unfurl_media=False,
    )
    return str(answer["ts"])


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


def _split_message(text: str) -> list[str]:
    # A long rendered message, cut between lines (else words) into section-sized pieces.
    return slack_text.split_mrkdwn(text, blocks.SECTION_LIMIT)


def version_messages(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion
) -> tuple[str, list[list[dict]]]:
    """A later version as posted in the thread: what changed, then the letter."""
    data = _context(runtime, session, draft, version)
    previous = next(v for v in draft.versions if v.number == version.number - 1)
    diff = changes(text_lines(previous), text_lines(version))
    intro = runtime.templates.message("draft_version", previous=previous.number, **data)
    what = runtime.templates.message("draft_changes", previous=previous.number, **diff)
    block_list = [blocks.section(p) for p in _split_message(intro)]
    block_list += [blocks.section(p) for p in _split_message(what)]
    block_list.append({"type": "divider"})
    block_list += blocks.letter_blocks(_elements(version))
    return runtime.templates.message("draft_version_text", **data), blocks.messages(block_list)


def _filename(draft: Draft, version: DraftVersion, approved: bool) -> str:
    year = ReviewYear(draft.review_year).label
    suffix = "-approved" if approved else ""
    return f"ciw-letter-{draft.authority.slug}-{year}-v{version.number}{suffix}.docx"


def upload_docx(
    runtime: Runtime, draft: Draft, version: DraftVersion, *, approved: bool = False
) -> str:
    """Upload the version's .docx into the draft's thread; the Slack file id."""
    data = {
        "council": draft.authority.english_name,
        "year": ReviewYear(draft.review_year),
        "version": version,
        "approved": approved,
    }
    title = visible(runtime.templates.message("draft_file_title", **data))
    content = to_docx(
        _elements(version),
        title=title,
        subject=APPROVED if approved else "draft for review",
        template=load_template(runtime.settings.letter_template),
        version=version.number,
        approved=approved,
        now=runtime.now(),
    )
    answer = runtime.client.files_upload_v2(
        channel=draft.channel_id,
        thread_ts=draft.thread_ts,
        file=content,
        filename=_filename(draft, version, approved),
        title=title,
    )
    return str(answer["file"]["id"])


def publish(runtime: Runtime, session: Session, draft: Draft, version: DraftVersion) -> bool:
    """Post what is not posted yet of a version (message, continuations, .docx); done or not.

    The first version is the parent message; later ones go into its thread and the parent
    is updated to show them. A Slack failure leaves the rest for `post_pending`.
    """
    now = runtime.now()
    try:
        if version.message_ts is None:
            if draft.thread_ts is None:
                text, parent, continuations = parent_message(runtime, session, draft)
                ts = _post(runtime, draft.channel_id, text, parent)
                draft.thread_ts = version.message_ts = ts
                session.flush()
                for number, more in enumerate(continuations, start=2):
                    note = runtime.templates.message(
                        "draft_continued",
                        part=number,
                        parts=len(continuations) + 1,
                        **_context(runtime, session, draft, version),
                    )
                    _post(runtime, draft.channel_id, note, more, thread_ts=ts)
            else:
                text, messages = version_messages(runtime, session, draft, version)
                first = None
                for more in messages:
                    ts = _post(runtime, draft.channel_id, text, more, thread_ts=draft.thread_ts)
                    first = first or ts
                version.message_ts = first
                session.flush()
                refresh_parent(runtime, session, draft)
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
        if version.file_id is None:
            version.file_id = upload_docx(runtime, draft, version)
            session.flush()
    except SLACK_FAILURES as error:
        log.warning("draft %s version %s not posted yet: %s", draft.id, version.number, error)
        return False
    return True


def refresh_parent(runtime: Runtime, session: Session, draft: Draft) -> None:
    """Update the parent message to the current version, status and tally."""
    if draft.thread_ts is None:
        return
    text, parent, _ = parent_message(runtime, session, draft)
    runtime.client.chat_update(
        channel=draft.channel_id, ts=draft.thread_ts, text=text, blocks=parent
    )


def _approved_upload_done(session: Session, draft: Draft, version: DraftVersion) -> bool:
    done = history.for_subjects(session, "draft", [draft.id]).get(str(draft.id), [])
    return any(
        e.action == "approved docx" and (e.changes or {}).get("version") == version.number
        for e in done
    )


# -- decisions ------------------------------------------------------------------------
def _current_or_refuse(version: DraftVersion) -> Draft:
    draft = version.draft
    latest = current(draft)
    if latest.id != version.id:
        raise UserError("draft_not_current", version=version.number, current=latest.number)
    return draft


def _after_decision(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion, actor: str
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
    session.flush()
    return state


def announce(runtime: Runtime, version_id: int, *, actor: str, reason: str | None = None) -> None:
    """Show a recorded decision in Slack (its own transaction, after the decision committed).

    A change request's reason is posted in the thread; the parent shows the new status and
    tally; a version that is now approved gets its approved .docx in the thread (once).
    Slack failing here loses no decision: the next update shows the state.
    """
    with runtime.transaction() as session:
        version = get_version(session, version_id)
        draft = version.draft
        if draft.thread_ts is None:
            return  # not posted yet: post_pending posts it with its current state
        data = _context(runtime, session, draft, version)
        try:
            if reason is not None:
                text = runtime.templates.message(
                    "draft_change_request", user=actor, reason=reason, **data
                )
                _post(
                    runtime,
                    draft.channel_id,
                    text,
                    [blocks.section(p) for p in _split_message(text)],
                    thread_ts=draft.thread_ts,
                )
            refresh_parent(runtime, session, draft)
            approved = data["tally"].approved and current(draft).id == version.id
            if approved and not _approved_upload_done(session, draft, version):
                text = runtime.templates.message("draft_approved", **data)
                _post(
                    runtime,
                    draft.channel_id,
                    text,
                    [blocks.section(text)],
                    thread_ts=draft.thread_ts,
                )
                file_id = upload_docx(runtime, draft, version, approved=True)
                history.record(
                    session,
                    actor=actor,
                    subject="draft",
                    subject_id=draft.id,
                    action="approved docx",
                    at=runtime.now(),
                    changes={"version": version.number, "file_id": file_id},
                )
        except SLACK_FAILURES as error:
            log.warning("draft %s: Slack not updated after a decision: %s", draft.id, error)
    # Welsh-workflow hook (bot.translation): the translation pack, once, after the decision.
    translation.publish_pack(runtime, version_id)


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
    session.add(Review(version_id=version.id, user_id=user_id, decision=Decision.APPROVE, at=now))
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
    session.add(
        Review(
            version_id=version.id,
            user_id=user_id,
            decision=Decision.REQUEST_CHANGES,
            reason=reason,
            at=now,
        )
    )
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
    return _after_decision(runtime, session, draft, version, user_id)


def publish_version(runtime: Runtime, version_id: int) -> bool:
    """Post a recorded version in its own transaction; whether Slack took all of it."""
    with runtime.transaction() as session:
        version = get_version(session, version_id)
        return publish(runtime, session, version.draft, version)


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
        text=unescape(text or ""),
        message_ts=message_ts,
        at=now,
    )
    session.add(comment)
    session.flush()
    return comment


# -- the clock ----------------------------------------------------------------------------
def post_pending(runtime: Runtime) -> int:
    """Post draft versions that Slack could not take when they were made; how many went."""
    cutoff = runtime.now() - PENDING_AFTER
    with runtime.transaction() as session:
        waiting = [
            (v.draft_id, v.id)
            for v in session.scalars(
                select(DraftVersion)
                .where(
                    (DraftVersion.message_ts.is_(None)) | (DraftVersion.file_id.is_(None)),
                    DraftVersion.created_at <= cutoff,
                )
                .order_by(DraftVersion.draft_id, DraftVersion.number)
            )
        ]
    sent = 0
    for draft_id, version_id in waiting:
        with runtime.transaction() as session:
            draft = session.get(Draft, draft_id)
            version = session.get(DraftVersion, version_id)
            if draft is None or version is None or current(draft).id != version.id:
                continue  # an older version is superseded: only the current one is posted
            if publish(runtime, session, draft, version):
                sent += 1
    # Welsh-workflow hook (bot.translation): translation packs Slack did not take.
    return sent + translation.post_pending_packs(runtime)
