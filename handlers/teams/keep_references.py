"""Keeping conversation references: a listener on every activity, installs and updates.

Every activity refreshes its conversation's reference (`handlers.teams.conversations`):
a message's after the answer, an install's, an update's or an invoke's before it, off the
event loop. When the database fails there, an install is told that nothing was recorded.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from sqlalchemy.exc import DBAPIError

from bot.runtime import Runtime
from handlers.teams import answers
from handlers.teams.conversations import Where, remember, where_of, written_lately
from handlers.teams.turns import Turn

log = logging.getLogger("ciw.teams")

_ANNOUNCING = {"installationUpdate", "conversationUpdate"}


def register(app: Any, runtime: Runtime) -> None:
    """Keep every activity's conversation reference; installs and conversation updates too."""

    async def keep_reference(ctx: Any) -> None:
        where = where_of(ctx)
        kind = ctx.activity.type
        # None at all (not even a thread's hand-off) for a reference this process wrote as
        # it is lately; installs and conversation updates are always written.
        force = kind in _ANNOUNCING
        if where.base_id and where.service_url and (force or not written_lately(runtime, where)):
            if kind == "message":
                # A message's after the answer (a command that needs it in its transaction,
                # a draft's destination, stores it there itself).
                Turn.of(runtime, app, ctx).later(
                    lambda away: _kept_after(away, where), "conversation reference"
                )
            else:
                # Before the answer, off the event loop: an install, an update, an invoke.
                try:
                    await _run(runtime, remember, runtime, where, force=force)
                except DBAPIError:
                    _not_kept(runtime, app, ctx)
        await ctx.next()

    app.use(keep_reference)

    @app.on_install_add
    async def installed(ctx: Any) -> None:
        """The bot was installed (personal scope, a team, a chat): kept above, as new."""

    @app.on_conversation_update
    async def updated(ctx: Any) -> None:
        """Members added, the conversation renamed: its reference was refreshed above."""


async def _kept_after(turn: Any, where: Where) -> None:
    try:
        await turn.sync(remember, turn.runtime, where)
    except DBAPIError:
        # The message's own work meets the database too, and is answered and logged there.
        log.warning("teams conversation reference not stored: database unavailable")


def bot_added(activity: Any) -> bool:
    """The bot installed (`installationUpdate` add) or added to a conversation."""
    if activity.type == "installationUpdate":
        return getattr(activity, "action", None) == "add"
    bot = activity.recipient.id if activity.recipient else None
    added = getattr(activity, "members_added", None) or []
    return any(member.id == bot for member in added)


def _not_kept(runtime: Runtime, app: Any, ctx: Any) -> None:
    """The database failed storing the reference before the answer. An invoke goes on to
    its handler, whose own database work fails and is answered (and logged) there; the bot
    installed or added is told in that conversation that nothing was recorded (the next
    activity there stores the reference); other updates are only logged."""
    activity = ctx.activity
    if activity.type not in _ANNOUNCING:
        log.warning("teams conversation reference not stored: database unavailable")
        return
    log.warning("teams %s not stored: database unavailable", activity.type, exc_info=True)
    if bot_added(activity):
        Turn.of(runtime, app, ctx).later(answers.database_unavailable, "database unavailable")


async def _run(runtime: Runtime, fn: Any, *args: Any, **kwargs: Any) -> Any:
    loop = asyncio.get_running_loop()
    # The listeners' threads: quick database work on the way to an answer, never queued
    # behind a command's work (`Runtime.after_ack`).
    return await loop.run_in_executor(
        runtime.listener_threads, functools.partial(fn, *args, **kwargs)
    )
