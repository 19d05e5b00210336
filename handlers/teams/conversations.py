"""Conversation references: where each activity came from, kept for proactive messages.

Every activity refreshes the `TeamsConversation` row of its conversation (a channel is
kept by its own id, without a reply chain's `;messageid=`): the service URL is the one
the SDK validated against the activity's token (never another), with the tenant, the
bot's id, the kind of conversation, a channel's team, and the Entra object id of a
personal chat's user. Installing the bot (`installationUpdate` add) and being added to a
conversation (`conversationUpdate`) do the same, so reminders can reach a channel before
anyone has typed there. A row already up to date is not written again for a while.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.runtime import Runtime
from db.models import TeamsConversation

log = logging.getLogger("ciw.teams")

PERSONAL, CHANNEL, GROUP_CHAT = "personal", "channel", "groupChat"
THREAD_MARK = ";messageid="
REFRESH_SECONDS = 6 * 60 * 60  # an unchanged reference is written again after this long


@dataclass(frozen=True)
class Where:
    """Where an activity happened, as the Bot Connector described it."""

    conversation_id: str  # as the activity carries it (a channel's with `;messageid=<root>`)
    kind: str  # personal, channel or groupChat
    tenant_id: str
    service_url: str  # validated by the SDK with the activity's token
    bot_id: str  # the bot's account in this conversation (`28:<app id>`)
    team_id: str | None = None
    team_type: str | None = None  # standard, sharedChannel, privateChannel
    channel_type: str | None = None  # standard, shared, private
    name: str | None = None
    user_id: str | None = None  # a personal chat's user (Entra object id)

    @property
    def base_id(self) -> str:
        """The conversation itself: a channel's id without the reply chain."""
        return self.conversation_id.partition(THREAD_MARK)[0]

    @property
    def thread_root(self) -> str | None:
        """The root message of the reply chain the activity is in (a channel's), if any."""
        root = self.conversation_id.partition(THREAD_MARK)[2]
        return root or None

    @property
    def personal(self) -> bool:
        return self.kind == PERSONAL

    @property
    def channel_id(self) -> str:
        """What a record made here names as its channel: "" for a personal chat (reminders
        then go to the people only), else the conversation without the reply chain."""
        return "" if self.personal else self.base_id


def where_of(ctx: Any) -> Where:
    """Where the SDK context's activity happened."""
    activity = ctx.activity
    conversation = activity.conversation
    channel_data = activity.channel_data
    team = channel_data.team if channel_data else None
    channel = channel_data.channel if channel_data else None
    tenant = (channel_data.tenant.id if channel_data and channel_data.tenant else None) or (
        conversation.tenant_id or ""
    )
    kind = conversation.conversation_type or PERSONAL
    sender = activity.from_
    return Where(
        conversation_id=conversation.id,
        kind=kind,
        tenant_id=tenant,
        service_url=ctx.conversation_ref.service_url,
        bot_id=activity.recipient.id if activity.recipient else "",
        team_id=team.id if team else None,
        team_type=team.team_type if team else None,
        channel_type=channel.type if channel else None,
        name=(channel.name if channel else None) or (team.name if team else None),
        user_id=(sender.aad_object_id if sender else None) if kind == PERSONAL else None,
    )


class _Fresh:
    """Which references this process wrote lately, as written."""

    def __init__(self) -> None:
        self._written: dict[str, tuple[tuple[Any, ...], float]] = {}
        self._lock = threading.Lock()

    def current(self, key: str, state: tuple[Any, ...]) -> bool:
        with self._lock:
            found = self._written.get(key)
        return (
            found is not None
            and found[0] == state
            and time.monotonic() - found[1] < (REFRESH_SECONDS)
        )

    def wrote(self, key: str, state: tuple[Any, ...]) -> None:
        with self._lock:
            self._written[key] = (state, time.monotonic())


def _fresh(runtime: Runtime) -> _Fresh:
    return runtime.__dict__.setdefault("_ciw_teams_fresh", _Fresh())


def store(session: Session, reference: dict[str, Any], now: dt.datetime) -> TeamsConversation:
    """Insert or refresh the reference with this id."""
    row = session.get(TeamsConversation, reference["id"])
    if row is None:
        row = TeamsConversation(**reference, updated_at=now)
        session.add(row)
    else:
        for name, value in reference.items():
            if value is not None:  # an activity that does not say (a team id) keeps what was
                setattr(row, name, value)
        row.updated_at = now
    session.flush()
    return row


def reference(where: Where) -> dict[str, Any]:
    """The conversation reference an activity from `where` gives (its columns)."""
    return {
        "id": where.base_id,
        "service_url": where.service_url,
        "tenant_id": where.tenant_id,
        "bot_id": where.bot_id,
        "conversation_type": where.kind,
        "team_id": where.team_id,
        "user_id": where.user_id,
        "name": (where.name or None) and where.name[:200],
    }


def written_lately(runtime: Runtime, where: Where) -> bool:
    """Whether this process wrote this very reference lately (nothing to write again)."""
    made = reference(where)
    return _fresh(runtime).current(made["id"], tuple(sorted(made.items())))


def remember(runtime: Runtime, where: Where, *, force: bool = False) -> None:
    """Keep (or refresh) the reference of the conversation an activity came from."""
    made = reference(where)
    state = tuple(sorted(made.items()))
    fresh = _fresh(runtime)
    if not force and fresh.current(made["id"], state):
        return
    try:
        with runtime.transaction() as session:
            store(session, made, runtime.now())
    except IntegrityError:
        # Another request stored it at the same moment: theirs is as good.
        log.info("teams conversation stored concurrently", extra={"outcome": "duplicate"})
    fresh.wrote(made["id"], state)


def personal_of(session: Session, user_id: str) -> TeamsConversation | None:
    """The person's personal chat with the bot, if the bot has one."""
    return session.scalars(
        select(TeamsConversation)
        .where(
            TeamsConversation.user_id == user_id,
            TeamsConversation.conversation_type == PERSONAL,
        )
        .order_by(TeamsConversation.updated_at.desc())
    ).first()


def reference_of(session: Session, conversation_id: str) -> TeamsConversation | None:
    """The stored reference of a conversation (a channel's without the reply chain)."""
    return session.get(TeamsConversation, conversation_id.partition(THREAD_MARK)[0])


# Activities that announce the conversation itself: always written.
