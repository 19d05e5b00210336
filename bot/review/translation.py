"""The Welsh version of an approved letter, for authorities whose language is `cy` or `both`.

When such a draft's version is approved in English, a translation is owed for it: the
bot posts a translation pack (the approved text beside an empty Cymraeg column) into the
draft's thread; the Welsh .docx a translator uploads there is recorded as a revision of
that version's Welsh text; reviewers approve it or request changes like a version, and a
new upload replaces it as the next revision. The draft is approved only once its Welsh
text is. No machine translation: the Welsh text is only ever what a person uploaded.

Data functions take a Session and never commit. What the workflow shows in Slack (the
pack, the notes of an upload and of the decisions on it) is queued in the outbox with
the records it announces and sent after commit (`bot.review.draft_outbox`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from bot.errors import UserError
from bot.letters import render, translation_pack
from bot.letters.translation_pack import WelshDocument
from bot.records import history
from bot.records.dates import ReviewYear
from bot.review.tally import Tally, refuse_if_issued, tally_of
from bot.runtime import Runtime
from db.models import (
    Authority,
    Decision,
    Draft,
    DraftVersion,
    Language,
    Translation,
    WelshReview,
    WelshText,
)

log = logging.getLogger("ciw.translation")

APPROVE = "welsh_approve"
REQUEST_CHANGES = "welsh_request_changes"
WELSH_LANGUAGES = frozenset({Language.CY, Language.BOTH})
AWAITING_WELSH = "approved (English), awaiting Welsh"
APPROVED = "approved"
MAX_REASON = 3000


# -- state -------------------------------------------------------------------------------
def needs_welsh(draft: Draft) -> bool:
    """Whether the draft's authority corresponds in Welsh (language `cy` or `both`)."""
    return draft.authority.language in WELSH_LANGUAGES


def for_version(session: Session, version_id: int) -> Translation | None:
    """The translation owed for this version, if one is."""
    return session.scalars(select(Translation).where(Translation.version_id == version_id)).first()


def latest(translation: Translation) -> WelshText | None:
    """The newest revision of the Welsh text, if any was uploaded."""
    return translation.texts[-1] if translation.texts else None


def welsh_tally(session: Session, text: WelshText, required: int) -> Tally:
    """The approvals and open change requests on one Welsh revision."""
    reviews = session.scalars(select(WelshReview).where(WelshReview.welsh_text_id == text.id))
    return tally_of(reviews, required)


def is_final(translation: Translation) -> bool:
    """The Welsh text of the version is approved (its newest revision)."""
    text = latest(translation)
    return text is not None and text.approved_at is not None


def with_welsh(english_status: str, *, owed: bool, final: bool) -> str:
    """A version's status counting its Welsh text (the one rule, for one version or many):
    approved in English while a Welsh text is owed (`owed`) and not approved (`final`) is
    not final, but AWAITING_WELSH."""
    if english_status != APPROVED or not owed or final:
        return english_status
    return AWAITING_WELSH


def awaiting(session: Session, channel_id: str, thread_ts: str) -> Translation | None:
    """The translation a Welsh upload in this thread is for: the draft's current version's,
    while that version stands approved in English and its Welsh text is not approved yet."""
    draft = session.scalars(
        select(Draft).where(Draft.channel_id == channel_id, Draft.thread_ts == thread_ts)
    ).first()
    return awaiting_draft(session, draft) if draft is not None else None


def awaiting_draft(session: Session, draft: Draft) -> Translation | None:
    """The translation a Welsh upload for this draft is for (its current version's, while
    approved in English and its Welsh not approved), if one is."""
    if not draft.versions:
        return None
    version = draft.versions[-1]
    if version.approved_at is None:
        return None
    translation = for_version(session, version.id)
    if translation is None or is_final(translation):
        return None
    return translation


def overall_status(session: Session, version: DraftVersion, english_status: str) -> str:
    """A version's status counting its Welsh text: approved in English alone is not final."""
    if english_status != APPROVED:
        return english_status
    owed = for_version(session, version.id)
    return with_welsh(english_status, owed=owed is not None, final=bool(owed and is_final(owed)))


def overall_statuses(session: Session, english: Mapping[int, str]) -> dict[int, str]:
    """`overall_status` of many versions at once (version id → its English status), in one
    query whatever their number: each version's translation, if one is owed, with whether
    its newest revision is approved."""
    newest, later = aliased(WelshText), aliased(WelshText)
    rows = session.execute(
        select(Translation.version_id, newest.approved_at)
        .outerjoin(
            newest,
            and_(
                newest.translation_id == Translation.id,
                ~exists().where(
                    later.translation_id == newest.translation_id, later.revision > newest.revision
                ),
            ),
        )
        .where(Translation.version_id.in_(list(english)))
    ).all()
    final = {version_id: approved_at is not None for version_id, approved_at in rows}
    return {
        version_id: with_welsh(status, owed=version_id in final, final=final.get(version_id, False))
        for version_id, status in english.items()
    }


# -- the English approval's hook ---------------------------------------------------------
def english_approved(
    session: Session, draft: Draft, version: DraftVersion, *, now: dt.datetime, actor: str
) -> Translation | None:
    """Owe a Welsh version for a version just approved in English (Welsh-language authorities).

    Called by `drafts` when a version becomes approved; again after an approval was
    withdrawn and given back, it finds the translation already owed and changes nothing.
    """
    if not needs_welsh(draft):
        return None
    existing = for_version(session, version.id)
    if existing is not None:
        return existing
    translation = Translation(version_id=version.id, requested_at=now)
    session.add(translation)
    history.record(
        session,
        actor=actor,
        subject="draft",
        subject_id=draft.id,
        action="welsh requested",
        at=now,
        changes={"version": version.number},
    )
    session.flush()
    return translation


def context(
    runtime: Runtime, session: Session, draft: Draft, version: DraftVersion, english_approved: bool
) -> dict[str, Any]:
    """What the draft's messages show of the Welsh version: the status and a Welsh line.

    An English-approved version of a Welsh-language authority reads "approved (English),
    awaiting Welsh" until its Welsh text is approved.
    """
    if not english_approved or not needs_welsh(draft):
        return {"welsh_line": ""}
    translation = for_version(session, version.id)
    if translation is None:
        return {"welsh_line": ""}
    text = latest(translation)
    tally = welsh_tally(session, text, runtime.settings.required_approvals) if text else None
    line = runtime.templates.neutral(
        "welsh_status",
        text=text,
        tally=tally,
        pack_posted=translation.pack_file_id is not None,
        platform=draft.platform,
    )
    return {
        "status": with_welsh(APPROVED, owed=True, final=is_final(translation)),
        "welsh_line": Markup(line),
    }


# -- the pack ----------------------------------------------------------------------------
def pack_names(runtime: Runtime, draft: Draft, version: DraftVersion) -> tuple[str, str]:
    """The pack's title and file name."""
    year = ReviewYear(draft.review_year)
    title = runtime.templates.message(
        "welsh_pack_title", council=draft.authority.english_name, year=year, version=version
    )
    filename = f"ciw-letter-{draft.authority.slug}-{year.label}-v{version.number}-cyfieithu.docx"
    return title, filename


def pack_document(runtime: Runtime, draft: Draft, version: DraftVersion) -> bytes:
    """The translation pack of a version: its paragraphs beside an empty Cymraeg column."""
    title, _ = pack_names(runtime, draft, version)
    intro = runtime.templates.message(
        "welsh_pack_intro",
        council=draft.authority.english_name,
        welsh_council=draft.authority.welsh_name,
        year=ReviewYear(draft.review_year),
        version=version,
    ).splitlines()
    return translation_pack.build(
        render.parse(version.body),
        title=title,
        intro=[line for line in intro if line.strip()],
        pack_identifier=translation_pack.identifier(draft.id, version.number),
    )


# -- uploads -------------------------------------------------------------------------------
def seen(session: Session, translation_id: int, message_ts: str) -> bool:
    """Whether this message's upload is recorded already (a repeated event)."""
    return (
        session.scalars(
            select(WelshText.id).where(
                WelshText.translation_id == translation_id, WelshText.message_ts == message_ts
            )
        ).first()
        is not None
    )


def owed_for_upload(
    session: Session,
    document: WelshDocument,
    *,
    platform: str,
    authority: Authority | None = None,
    year: ReviewYear | None = None,
) -> Translation:
    """The translation a Welsh .docx sent where no thread names its letter (Teams' personal
    chat) is for: the letter the sender named (`welsh <authority> [<year>]`), else the one
    a filled pack names in its identifier; UserError saying what is missing or wrong.

    Only this platform's drafts are looked at. A named letter and the pack's must agree;
    a letter is taken only while it awaits its Welsh text (see `awaiting_draft`).
    """
    named = document.pack_draft if document.source == "pack" else None
    pack_draft = session.get(Draft, named) if named is not None else None
    if pack_draft is not None and pack_draft.platform != platform:
        pack_draft = None
    if authority is None:
        if pack_draft is None:
            # A document of the translator's own (or a pack whose identifier is gone).
            raise UserError("welsh_say_which", unknown_pack=named is not None)
        owed = awaiting_draft(session, pack_draft)
        if owed is None:
            raise UserError(
                "welsh_nothing_awaits",
                council=pack_draft.authority.english_name,
                year=ReviewYear(pack_draft.review_year),
            )
        return owed
    wanted = select(Draft).where(Draft.authority_id == authority.id, Draft.platform == platform)
    if year is not None:
        wanted = wanted.where(Draft.review_year == year.start_year)
    candidates = [
        (draft, owed)
        for draft in session.scalars(wanted.order_by(Draft.id))
        if (owed := awaiting_draft(session, draft)) is not None
    ]
    if pack_draft is not None and candidates:
        mine = [pair for pair in candidates if pair[0].id == pack_draft.id]
        if not mine:
            raise UserError(
                "welsh_other_letter",
                council=pack_draft.authority.english_name,
                year=ReviewYear(pack_draft.review_year),
                named=authority.english_name,
            )
        candidates = mine
    if not candidates:
        raise UserError("welsh_nothing_awaits", council=authority.english_name, year=year)
    if len(candidates) > 1:
        years = sorted({ReviewYear(d.review_year).label for d, _ in candidates})
        if len(years) > 1 and year is None:
            raise UserError(
                "welsh_which_year", council=authority.english_name, years=years, slug=authority.slug
            )
        raise UserError("welsh_which_letter", council=authority.english_name)
    return candidates[0][1]


def check_pack_version(translation: Translation, document: WelshDocument) -> None:
    """Refuse a filled pack made for another version of the letter than the one owed."""
    made_for = document.pack_version
    number = translation.version.number
    if document.source == "pack" and made_for is not None and made_for != number:
        raise UserError("welsh_wrong_version", made_for=made_for, current=number)


def record_upload(
    session: Session,
    translation: Translation,
    document: WelshDocument,
    *,
    file_id: str,
    file_name: str,
    message_ts: str,
    user_id: str,
    now: dt.datetime,
) -> WelshText | None:
    """Record an uploaded Welsh .docx as the next revision; None if this message was recorded.

    Change requests on earlier revisions are resolved by it; their approvals do not carry over.
    """
    check_pack_version(translation, document)
    if seen(session, translation.id, message_ts):
        return None
    refuse_if_issued(session, translation.version)
    previous = [t.id for t in translation.texts]
    revision = len(previous) + 1
    text = WelshText(
        translation_id=translation.id,
        revision=revision,
        paragraphs=list(document.paragraphs),
        source=document.source,
        file_id=file_id,
        file_name=file_name[:255],
        message_ts=message_ts,
        uploaded_by=user_id,
        uploaded_at=now,
    )
    session.add(text)
    if previous:
        for review in session.scalars(
            select(WelshReview).where(
                WelshReview.welsh_text_id.in_(previous),
                WelshReview.decision == Decision.REQUEST_CHANGES,
                WelshReview.resolved_at.is_(None),
            )
        ):
            review.resolved_at = now
    history.record(
        session,
        actor=user_id,
        subject="draft",
        subject_id=translation.version.draft_id,
        action="welsh uploaded",
        at=now,
        changes={
            "version": translation.version.number,
            "revision": revision,
            "file_id": file_id,
            "file_name": file_name,
            "paragraphs": len(document.paragraphs),
            "source": document.source,
        },
    )
    session.flush()
    session.refresh(translation)
    return text


# -- decisions -----------------------------------------------------------------------------
def get_text(session: Session, text_id: int) -> WelshText:
    """The Welsh revision with this id; UserError if there is none."""
    text = session.get(WelshText, text_id)
    if text is None:
        raise UserError("draft_unknown")
    return text


def check_reviewable(session: Session, text_id: int) -> WelshText:
    """The revision, if it is the newest of a translation owed for the draft's current version."""
    text = get_text(session, text_id)
    translation = text.translation
    newest = latest(translation)
    assert newest is not None
    if newest.id != text.id:
        raise UserError("welsh_not_current", revision=text.revision, current=newest.revision)
    version = translation.version
    draft_versions = version.draft.versions
    if draft_versions[-1].id != version.id:
        raise UserError(
            "draft_not_current", version=version.number, current=draft_versions[-1].number
        )
    refuse_if_issued(session, version)
    return text


def _after_decision(
    session: Session, text: WelshText, *, actor: str, now: dt.datetime, required: int
) -> Tally:
    state = welsh_tally(session, text, required)
    draft_id = text.translation.version.draft_id
    if state.approved and text.approved_at is None:
        text.approved_at = now
        history.record(
            session,
            actor=actor,
            subject="draft",
            subject_id=draft_id,
            action="welsh approved",
            at=now,
            changes={"version": text.translation.version.number, "revision": text.revision},
        )
    elif not state.approved:
        text.approved_at = None
    session.flush()
    return state


def approve(
    session: Session, text_id: int, *, user_id: str, now: dt.datetime, required: int
) -> Tally:
    """Record `user_id`'s approval of the newest Welsh revision (their change request resolved)."""
    text = check_reviewable(session, text_id)
    mine = list(
        session.scalars(
            select(WelshReview)
            .where(WelshReview.welsh_text_id == text.id, WelshReview.user_id == user_id)
            .order_by(WelshReview.at, WelshReview.id)
        )
    )
    if mine and mine[-1].decision is Decision.APPROVE:
        raise UserError("welsh_already_approved", revision=text.revision)
    for review in mine:
        if review.decision is Decision.REQUEST_CHANGES and review.resolved_at is None:
            review.resolved_at = now
    session.add(
        WelshReview(welsh_text_id=text.id, user_id=user_id, decision=Decision.APPROVE, at=now)
    )
    history.record(
        session,
        actor=user_id,
        subject="draft",
        subject_id=text.translation.version.draft_id,
        action="welsh approval",
        at=now,
        changes={"version": text.translation.version.number, "revision": text.revision},
    )
    session.flush()
    return _after_decision(session, text, actor=user_id, now=now, required=required)


def request_changes(
    session: Session,
    text_id: int,
    *,
    user_id: str,
    reason: str,
    now: dt.datetime,
    required: int,
) -> Tally:
    """Record a change request on the newest Welsh revision, with its reason."""
    reason = reason.strip()
    if not reason:
        raise UserError("draft_missing_reason")
    if len(reason) > MAX_REASON:
        raise UserError("too_long", what="reason", limit=MAX_REASON, length=len(reason))
    text = check_reviewable(session, text_id)
    session.add(
        WelshReview(
            welsh_text_id=text.id,
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
        subject_id=text.translation.version.draft_id,
        action="welsh changes requested",
        at=now,
        reason=reason,
        changes={"version": text.translation.version.number, "revision": text.revision},
    )
    session.flush()
    return _after_decision(session, text, actor=user_id, now=now, required=required)
