"""`/ciw` in Teams: a message to the bot is the command's text.

A message in the bot's personal chat, or one that @mentions the bot in a channel or group
chat, is a command: its text with the bot's mention removed and an optional leading
`/ciw ` or `ciw ` dropped is the `/ciw` grammar, each other person @mentioned becoming a
mention marker with their Entra object id (so `log-activity … @Alex …` makes Alex an
inspector). It runs through `handlers.commands.execute` like Slack's, after the Bot
Connector has had its answer; the reply goes to the person privately (`answers`).

A message is done once: a repeat of the same activity id is dropped by this process at
once, and by any process in the command's own transaction (its key commits with it).
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.delivery import messages
from bot.errors import UserError
from bot.runtime import Runtime
from handlers import commands
from handlers.commands.base import Command
from handlers.teams import answers, conversations, forms, members
from handlers.teams.conversations import CHANNEL, PERSONAL, Where, reference_of
from handlers.teams.members import Person
from handlers.teams.turns import PLATFORM, Duplicate, Turn, claim

log = logging.getLogger("ciw.teams")

_PREFIX = re.compile(r"^\s*/?ciw(?:\s+|$)", re.IGNORECASE)
_BREAKS = re.compile(r"<br\s*/?>|</p>|</div>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]{2,}")
_TAGS = re.compile(r"</?(?:p|div|span|b|i|u|strong|em|s|strike|code|pre|font)\b[^>]*>", re.I)


@dataclass
class TeamsSurface:
    """What a command typed in Teams can do there: ask for a form, tell where drafts may go."""

    where: Where
    tenant_id: str
    form: str | None = None  # the form to offer once the command has committed
    platform: str = field(default=PLATFORM)

    def open_form(self, command: Command, form: str) -> None:
        """Offer the activity or finding form: a card whose button opens it in a dialog
        (sent once the command's transaction has committed)."""
        self.form = form

    def check_draft_destination(self, command: Command) -> None:
        """Drafts go into a channel of a team the bot is installed in: never a personal
        or group chat (no reply chains to review in), never a shared channel (people of
        other organisations may read it), never another tenant's."""
        where = self.where
        if where.kind == PERSONAL:
            raise UserError("teams_draft_personal_chat")
        if where.kind != CHANNEL:
            raise UserError("teams_draft_group_chat")
        if (
            where.channel_type == "shared"
            or where.team_type == "sharedChannel"
            or where.tenant_id != self.tenant_id
        ):
            raise UserError("teams_draft_shared_channel")
        if not where.team_id:
            raise UserError("teams_draft_not_in_team")
        # The reference the sender will post through: stored with this command if the
        # message's own (kept after its answer) is not in yet.
        stored = reference_of(command.session, where.base_id) or conversations.store(
            command.session, conversations.reference(where), command.now
        )
        if stored.team_id != where.team_id:
            raise UserError("teams_draft_not_in_team")


# -- the words typed ------------------------------------------------------------------------
def mention_entities(activity: Any) -> list[Any]:
    """The activity's @mention entities, in order."""
    return [e for e in (activity.entities or []) if getattr(e, "type", None) == "mention"]


def mentions_bot(activity: Any) -> bool:
    """Whether the message @mentions the bot itself."""
    bot = activity.recipient.id if activity.recipient else None
    return any(e.mentioned.id == bot for e in mention_entities(activity))


def words(text: str, replaced: list[tuple[str, str]]) -> str:
    """Teams' message text as typed: each mention's text (`<at>Name</at>`) replaced by what
    it stands for (the bot's by nothing), formatting tags and HTML entities undone."""
    for mention_text, replacement in replaced:
        text = text.replace(mention_text, f" {replacement} " if replacement else " ", 1)
    text = _TAGS.sub("", _BREAKS.sub("\n", text))
    text = html.unescape(text).replace("\u00a0", " ")
    return _SPACES.sub(" ", text).strip()


def drop_prefix(text: str) -> str:
    """The command without an optional leading `/ciw ` or `ciw `."""
    return _PREFIX.sub("", text, count=1).strip()


def has_prefix(text: str) -> bool:
    return bool(_PREFIX.match(text))


async def typed_text(turn: Turn) -> str:
    """The message as the core takes typed text: the bot's mention gone, every other person
    a mention marker (their Entra object id and name, asked of Teams); UserError when
    someone mentioned cannot be told."""
    activity = turn.activity
    bot = activity.recipient.id if activity.recipient else None
    replaced: list[tuple[str, str]] = []
    for entity in mention_entities(activity):
        label = entity.text or f"<at>{entity.mentioned.name}</at>"
        if entity.mentioned.id == bot:
            replaced.append((label, ""))
            continue
        person = await members.mentioned(turn, entity.mentioned)
        replaced.append((label, messages.mention(person.user_id, person.name)))
    return words(activity.text or "", replaced)


def bare_text(activity: Any) -> str:
    """The message's words with every mention removed (to tell a command from a comment)."""
    return words(activity.text or "", [(e.text or "", "") for e in mention_entities(activity)])


# -- running a command ----------------------------------------------------------------------
def addressed(turn: Turn) -> bool:
    """A command: anything in the personal chat, elsewhere a message that @mentions the bot."""
    return turn.where.personal or mentions_bot(turn.activity)


async def refuse(turn: Turn, error: UserError, person: Person | None = None) -> None:
    """Tell the person why nothing was done: privately if they may use the bot, else here
    (a refusal says nothing of any record)."""
    answer = answers.said(turn.runtime, f"errors/{error.template}", **error.data)
    if person is not None and person.allowed(turn.where.tenant_id):
        await answers.privately(turn, person, [answer])
    else:
        await answers.here(turn, [answer])


async def who(turn: Turn) -> Person | None:
    """The sender, if they may use the bot; otherwise they are told (here) and None."""
    person = await members.checked_sender(turn)
    if isinstance(person, UserError):
        await refuse(turn, person)
        return None
    return person


async def unavailable(turn: Turn, what: str, person: Person | None = None) -> None:
    """The database failed (`what` it was doing): logged once with its traceback, and the
    person told that nothing was recorded (`answers.database_unavailable`)."""
    log.warning("teams %s failed: database unavailable", what, exc_info=True)
    await answers.database_unavailable(turn, person)


async def run_message(turn: Turn) -> None:
    """A command typed in a message: who sent it, what they typed, then run it."""
    person: Person | None = None
    try:
        person = await who(turn)
        if person is None:
            return
        text = drop_prefix(await typed_text(turn))
    except UserError as error:
        await refuse(turn, error, person)
        return
    except DBAPIError:
        # Who they are (or who they mentioned) is kept in the database: nothing can be
        # checked, so nothing is run.
        await unavailable(turn, "member lookup", person)
        return
    await run_typed(turn, person, text, key=turn.key)


async def run_typed(
    turn: Turn, person: Person, text: str, *, key: str | None, note_here: bool = True
) -> None:
    """Run typed text as `/ciw` for `person` where the turn happened, once per `key`, and
    answer privately (with the form card if the command asked for one); `note_here`: the
    thread it was typed in is told where the answer is."""
    runtime = turn.runtime
    where = turn.where
    typed = commands.Typed(
        user_id=person.user_id,
        channel_id=where.channel_id,
        text=text,
        channel_name=where.name or "",
    )
    surface = TeamsSurface(where, runtime.settings.teams_tenant_id or "")

    def before(session: Session) -> None:
        if key is not None:
            claim(session, key, runtime.now())

    try:
        outcome = await turn.work(commands.execute, runtime, typed, surface, before=before)
    except Duplicate:
        log.info("repeated teams activity dropped", extra={"outcome": "duplicate"})
        return
    except DBAPIError:
        await unavailable(turn, "command", person)
        return
    except Exception:
        log.exception("teams command failed")
        await refuse(turn, UserError("internal"), person)
        return
    said: list[answers.Answer] = []
    if surface.form is not None:
        said.append(forms.opener(runtime, surface.form, person.user_id, where.channel_id))
    if outcome.reply is not None:
        # Rendering is CPU work: off the event loop, which must stay free for answering.
        said.append(await turn.sync(answers.render, runtime, outcome.reply))
    await answers.privately(turn, person, said, note_here=note_here)
    if outcome.queued:
        # What the command queued goes out now that its transaction has committed.
        runtime.kick()


def register(app: Any, runtime: Runtime) -> None:
    """Messages that are commands: answered at once (200), run after."""

    @app.on_message
    async def on_message(ctx: Any) -> None:
        turn = Turn.of(runtime, app, ctx)
        if not addressed(turn):
            return
        if not turn.first_sighting():
            log.info("repeated teams activity dropped", extra={"outcome": "duplicate"})
            return
        turn.later(run_message, "command")
