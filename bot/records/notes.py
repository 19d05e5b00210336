"""Notes: the letter's narrative paragraphs that are no record (the introduction's context,
the plan's national work, a principle's wider remarks).

Functions take plain values and a Session, record history, and never commit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.records import history
from bot.records.dates import ReviewYear
from db.models import Authority, Note, NoteSection

MAX_TEXT = 4000


def check_text(text: str) -> str:
    """The note's text, stripped; UserError if it is empty or overlong."""
    text = text.strip()
    if not text:
        raise UserError("missing_note_text")
    if len(text) > MAX_TEXT:
        raise UserError("too_long", what="note", limit=MAX_TEXT, length=len(text))
    return text


def add_note(
    session: Session,
    *,
    authority: Authority,
    year: ReviewYear,
    section: NoteSection,
    text: str,
    actor: str,
    now: dt.datetime,
) -> Note:
    """Record a note for one section of an authority's letter of one review year."""
    note = Note(
        authority=authority,
        review_year=year.start_year,
        section=section,
        text=check_text(text),
        created_by=actor,
        created_at=now,
    )
    session.add(note)
    session.flush()
    history.record(
        session,
        actor=actor,
        subject="note",
        subject_id=note.id,
        action="logged",
        at=now,
        changes={"section": section.value, "year": year.label},
    )
    return note


def get_note(session: Session, note_id: int) -> Note:
    """The note with this id (not removed); UserError if there is none."""
    note = session.get(Note, note_id)
    if note is None or note.removed_at is not None:
        raise UserError("unknown_id", ref=f"N{note_id}")
    return note


def edit(session: Session, note: Note, text: str, *, actor: str, now: dt.datetime) -> str:
    """Replace a note's text, keeping the old text in the history; returns the old text."""
    text = check_text(text)
    old = note.text
    note.text, note.updated_at = text, now
    history.record(
        session,
        actor=actor,
        subject="note",
        subject_id=note.id,
        action="edited",
        at=now,
        changes={"old": old, "new": text},
    )
    session.flush()
    return old


def remove(session: Session, note: Note, *, actor: str, now: dt.datetime) -> None:
    """Take a note out of lists and letters; the history keeps it."""
    note.removed_at, note.removed_by = now, actor
    history.record(
        session, actor=actor, subject="note", subject_id=note.id, action="removed", at=now
    )
    session.flush()


def for_year(session: Session, authority: Authority, year: ReviewYear) -> list[Note]:
    """The authority's notes of a review year, in the order they were recorded."""
    return list(
        session.scalars(
            select(Note)
            .where(
                Note.authority_id == authority.id,
                Note.review_year == year.start_year,
                Note.removed_at.is_(None),
            )
            .order_by(Note.id)
        )
    )
