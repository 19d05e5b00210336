"""The append-only history of every change: who, when, what and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import HistoryEntry


def record(
    session: Session,
    *,
    actor: str,
    subject: str,
    subject_id: int | str,
    action: str,
    at: dt.datetime,
    reason: str | None = None,
    changes: dict[str, Any] | None = None,
) -> HistoryEntry:
    """Add one history entry (flushed with the caller's transaction)."""
    entry = HistoryEntry(
        actor=actor,
        subject=subject,
        subject_id=str(subject_id),
        action=action,
        at=at,
        reason=reason,
        changes=changes,
    )
    session.add(entry)
    return entry


def for_subjects(session: Session, subject: str, ids: list[int]) -> dict[str, list[HistoryEntry]]:
    """The history of several records of one kind, oldest first, keyed by id (one query)."""
    if not ids:
        return {}
    rows = session.scalars(
        select(HistoryEntry)
        .where(HistoryEntry.subject == subject, HistoryEntry.subject_id.in_([str(i) for i in ids]))
        .order_by(HistoryEntry.at, HistoryEntry.id)
    )
    found: dict[str, list[HistoryEntry]] = {}
    for row in rows:
        found.setdefault(row.subject_id, []).append(row)
    return found
