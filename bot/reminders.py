"""Reminders and announcements about activities (planned in the Delivery ledger).

The hooks below are called by `bot.activities` inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from db.models import Activity

if TYPE_CHECKING:
    from bot.activities import Move


def activity_scheduled(session: Session, activity: Activity, *, now: dt.datetime) -> None:
    """Plan the reminders of a newly scheduled activity."""


def activity_moved(session: Session, move: Move, *, actor: str, now: dt.datetime) -> None:
    """Re-plan reminders after a reschedule, postponement, cancellation or completion."""


def activity_removed(session: Session, activity: Activity, *, now: dt.datetime) -> None:
    """Stop the reminders of a removed activity."""


def draft_posted(session: Session, draft: object, version: object, *, now: dt.datetime) -> None:
    """Plan the nudge raised in the draft's thread after 2 working days without a decision."""


def draft_decided(session: Session, draft: object, *, now: dt.datetime) -> None:
    """Stop the pending nudges of a draft that got a decision (approved or changes requested)."""
