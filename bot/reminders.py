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
