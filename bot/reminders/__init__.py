"""Reminders: what falls due when, and the clock that sends it.

- `planning`: reminders and announcements of activities, nudges of drafts waiting for a
  decision, planned as outbox rows (and the messages they become when sent);
- `workdays`: working days in Wales (weekends, Welsh bank holidays);
- `clock`: sends what the outbox says is due, once or on an APScheduler interval.

Follows the records' events (`bot.records.events`): an activity scheduled, moved or
removed, a draft posted or decided re-plans what is owed, in the same transaction.
May import `bot.records`, `bot.review`, `bot.delivery` and the frame (`bot.runtime`,
`bot.settings`, `bot.render`); never a door (`handlers`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.records import activities, events
from bot.reminders import planning
from bot.review import draft_outbox, drafts


def _scheduled(session: Session, event: activities.Scheduled) -> None:
    planning.activity_scheduled(session, event.activity, now=event.now)


def _moved(session: Session, event: activities.Moved) -> None:
    planning.activity_moved(session, event.move, actor=event.actor, now=event.now)


def _removed(session: Session, event: activities.Removed) -> None:
    planning.activity_removed(session, event.activity, now=event.now)


def _posted(session: Session, event: draft_outbox.Posted) -> None:
    planning.draft_posted(session, event.draft, event.version, now=event.now)


def _decided(session: Session, event: drafts.Decided) -> None:
    planning.draft_decided(session, event.draft, now=event.now)


events.follow(activities.Scheduled, _scheduled)
events.follow(activities.Moved, _moved)
events.follow(activities.Removed, _removed)
events.follow(draft_outbox.Posted, _posted)
events.follow(drafts.Decided, _decided)
