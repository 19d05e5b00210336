"""Replies in a draft's reply chain: the review's comments.

A message in the reply chain of a draft's root card (conversation
`<channel>;messageid=<Draft.thread_ts>`) that is not a command (no leading `/ciw ` or
`ciw `, and not an @mention of the bot followed by a subcommand) is recorded as a comment
on the draft's current version (`bot.review.drafts.record_comment`), once, and acknowledged in
the chain. It is recorded before the Bot Connector gets its answer, in the transaction
that keeps the activity's id; a repeat records nothing. If the database fails, the person
is told in the chain that nothing was recorded (as a command would be), when the chain is
known to be a draft's: one this process has seen (with the database down, any other reply
in any chain could be anyone's conversation, not meant for the bot).

Teams delivers channel messages that do not @mention the bot only to an app granted the
`ChannelMessage.Read.Group` resource-specific permission in its manifest.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import DBAPIError

from bot.review import drafts
from bot.runtime import Runtime
from db.models import Draft
from handlers import commands as core_commands
from handlers.teams import answers, commands, members, welsh
from handlers.teams.conversations import CHANNEL
from handlers.teams.turns import Duplicate, Turn, claim

log = logging.getLogger("ciw.teams")


def is_command(activity: Any) -> bool:
    """A command rather than a comment: `/ciw …` or `ciw …`, or the bot @mentioned before
    one of the subcommands (or Teams' own `welsh`)."""
    bare = commands.bare_text(activity)
    if commands.has_prefix(bare):
        return True
    if not commands.mentions_bot(activity):
        return False
    first = (bare.split(None, 1) or [""])[0].lower()
    return first in core_commands.subcommands() or first == welsh.WORD


def _draft_of(runtime: Runtime, channel_id: str, root: str) -> tuple[int, int] | None:
    with runtime.transaction() as session:
        draft: Draft | None = drafts.by_thread(session, channel_id, root)
        if draft is None or not draft.versions:
            return None
        return draft.id, drafts.current(draft).number


class Chains:
    """Reply chains this process has seen to be drafts' (a bounded memory)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._seen: dict[tuple[str, str], None] = {}

    def saw(self, channel_id: str, root: str) -> None:
        self._seen.pop((channel_id, root), None)
        self._seen[(channel_id, root)] = None
        if len(self._seen) > self.size:
            self._seen.pop(next(iter(self._seen)))

    def __contains__(self, chain: tuple[str, str]) -> bool:
        return chain in self._seen


def _comment_text(activity: Any) -> str:
    # People mentioned read `@Name`; the bot's own mention is dropped.
    bot = activity.recipient.id if activity.recipient else None
    replaced = [
        (e.text or "", "" if e.mentioned.id == bot else f"@{e.mentioned.name or e.mentioned.id}")
        for e in commands.mention_entities(activity)
    ]
    return commands.words(activity.text or "", replaced)


def _record(runtime: Runtime, turn: Turn, user_id: str, text: str) -> int | None:
    """Record the comment (once); the version number it was recorded on, or None."""
    where = turn.where
    with runtime.transaction() as session:
        claim(session, turn.key, runtime.now())
        comment = drafts.record_comment(
            session,
            channel_id=where.base_id,
            thread_ts=where.thread_root or "",
            message_ts=str(turn.activity.id),
            user_id=user_id,
            text=text,
            now=runtime.now(),
        )
        if comment is None:
            return None
        return drafts.get_version(session, comment.version_id).number


def _unavailable(turn: Turn) -> None:
    # Logged here once, with its traceback; the person told in the chain after the answer.
    log.warning("teams comment not recorded: database unavailable", exc_info=True)
    turn.later(answers.database_unavailable, "database unavailable")


def register(app: Any, runtime: Runtime) -> None:
    """Listen for replies in drafts' reply chains (before commands: a comment is no command)."""
    chains = Chains()

    @app.on_message
    async def in_reply_chain(ctx: Any) -> None:
        turn = Turn.of(runtime, app, ctx)
        where = turn.where
        root = where.thread_root
        activity = turn.activity
        if (
            where.kind != CHANNEL
            or root is None
            or root == activity.id
            or not (activity.text or "").strip()
            or is_command(activity)
        ):
            await ctx.next()
            return
        try:
            found = await turn.sync(_draft_of, runtime, where.base_id, root)
        except DBAPIError:
            if (where.base_id, root) not in chains:
                # Not known to be a draft's chain: anyone's conversation, passed on (a
                # command, the bot @mentioned, is answered by its handler).
                log.warning("teams reply not looked up: database unavailable")
                await ctx.next()
                return
            _unavailable(turn)
            return
        if found is None:
            await ctx.next()
            return
        chains.saw(where.base_id, root)
        try:
            person = await members.checked_sender(turn)
            if not isinstance(person, members.Person):
                await commands.refuse(turn, person)
                return
            number = await turn.sync(
                _record, runtime, turn, person.user_id, _comment_text(activity)
            )
        except Duplicate:
            log.info("repeated teams comment dropped", extra={"outcome": "duplicate"})
            return
        except DBAPIError:
            _unavailable(turn)
            return
        if number is not None:
            note = answers.said(runtime, "teams_comment_recorded", version=number)
            turn.later(lambda away: answers.here(away, [note]), "comment acknowledgement")
