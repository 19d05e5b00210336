"""What a change to the records tells the rooms that follow them, in the same transaction.

The records do not call the rooms above them by name: recording an activity, moving it or
posting a draft publishes an event here, and each room that follows that kind of event
handles it at once, in the publisher's session (so in its transaction: a handler only
adds rows, such as the outbox's reminders, and they commit or roll back with the change).
Rooms follow events when they are imported (`bot.reminders` follows activities and
drafts); an event nobody follows raises, so a missing follower is never a silent loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

Handler = Callable[[Session, Any], None]

_followers: dict[type, list[Handler]] = {}


def follow(kind: type, handler: Handler) -> None:
    """Have `handler(session, event)` called for every event of this kind (once per handler)."""
    handlers = _followers.setdefault(kind, [])
    if handler not in handlers:
        handlers.append(handler)


def publish(session: Session, event: object) -> None:
    """Hand `event` to every follower of its kind now, in `session`'s transaction."""
    handlers = _followers.get(type(event))
    if not handlers:
        raise LookupError(
            f"nothing follows {type(event).__qualname__}: import the room that handles it "
            "(bot.reminders) before recording"
        )
    for handler in handlers:
        handler(session, event)
