"""How the bot answers the person who acted, in Teams.

What Slack says ephemerally goes to the person's personal chat with the bot: there, an
answer is simply posted; from a channel (or a group chat) it is posted in their personal
chat (created with their `29:` id when the bot has none yet, and kept) and the thread
they typed in gets one short line saying where to look. Long listings come a page at a
time, cut from the neutral text as Slack's are (`bot.delivery.pages`), with a "Next page" button.

Answers are written in the Teams dialect (`handlers.teams.text`) and sent as Adaptive
Cards (`handlers.teams.cards`, split to fit Teams' size limit), people shown by the names
the bot knows. A command's answers are sent after the activity's answer, by the Teams
sender's App on its own loop (`Turn.later`); not through the outbox (nothing is recorded by
them, as nothing is by Slack's replies through a response_url). They are paced per
conversation with the Teams sender's own pacer (`handlers.teams.pacing`) so the two
together stay under Teams' rate limits; a 429 is waited out and tried again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any

import httpx
from microsoft_teams.api import Account, CreateConversationParams, MessageActivityInput
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.delivery import pages
from bot.delivery.messages import Action, Message
from bot.render import Templates, trusted
from bot.runtime import Runtime
from db.models import TeamsConversation
from handlers.commands.base import Reply
from handlers.teams import cards, conversations, overview
from handlers.teams import text as teams_text
from handlers.teams.members import Person
from handlers.teams.outbound import outbound_of
from handlers.teams.pacing import Pacer

log = logging.getLogger("ciw.teams")

NEXT_PAGE = "listing_next_page"  # the "Next page" button's verb (as Slack's action id)
RETRIES = 4
# Replies shown as a card of their own rather than as text: template → card builder.
CARDS = {overview.TEMPLATE: overview.card}


def templates(runtime: Runtime) -> Templates:
    """The templates replies are rendered with: the Teams dialect."""
    return teams_text.templates(runtime)


def text(runtime: Runtime, template: str, /, **data: Any) -> str:
    """A message template as the words a person reads (for a button's or a form's answer,
    which Teams shows as plain text)."""
    return teams_text.visible(templates(runtime).message(template, **data))


def labels(runtime: Runtime) -> dict[str, str]:
    """The labels of the forms and cards the Teams adapter builds (plain text)."""
    return runtime.templates.messages.get_template("teams_labels.j2").module.labels


@dataclass(frozen=True)
class Answer:
    """One answer to post: neutral text (`bot.delivery.messages`), or a ready card; for a listing's
    page, the command that shows the next one."""

    neutral: str = ""
    card: dict[str, Any] | None = None
    next_page: str | None = None
    next_label: str | None = None


def said(runtime: Runtime, template: str, /, **data: Any) -> Answer:
    """An answer from a message template."""
    return Answer(runtime.templates.neutral(template, **data))


def render(runtime: Runtime, reply: Reply) -> Answer:
    """A reply; of a listing, the one page asked for, with the next page's command (the
    command without `/ciw `, as typed text reaches the command); a reply Teams shows as a
    card of its own (`CARDS`), that card whole."""
    builder = CARDS.get(reply.template)
    if builder is not None:
        neutral, card = builder(runtime, reply)
        return Answer(neutral, card=card)
    words = runtime.templates
    if reply.page is None:
        return Answer(words.neutral(reply.template, **reply.data))
    listing = words.neutral(reply.template, **reply.data)
    found = pages.page_of(listing, reply.page)
    if found is None:
        total = pages.count(listing)
        return said(
            runtime, "errors/no_such_page", page=reply.page, total=total, command=reply.command
        )
    data = {"number": found.number, "total": found.total, "command": reply.command}
    body = words.neutral("page", body=trusted(found.text), **data)
    if found.number >= found.total:
        return Answer(body)
    return Answer(
        body,
        next_page=f"{reply.command.removeprefix('/ciw ')} page {found.number + 1}",
        next_label=text(runtime, "page_button", **data),
    )


def activities(
    runtime: Runtime, answers: list[Answer], *, named: bool = True
) -> list[dict[str, Any]]:
    """The activities that post these answers: people named as the records know them, or
    (`named` False, for what names nobody) without asking the database at all."""
    if not named:
        return _activities(answers)
    with runtime.transaction() as session, teams_text.names(session):
        return _activities(answers)


def _activities(answers: list[Answer]) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = []
    for answer in answers:
        if answer.card is not None:
            summary = cards.summary_of(answer.neutral and teams_text.markdown(answer.neutral))
            made.append(cards.activity(answer.card, summary=summary or None))
            continue
        actions = (
            (Action(NEXT_PAGE, answer.next_label or "", answer.next_page),)
            if answer.next_page
            else ()
        )
        made += cards.message_activities(Message(answer.neutral, actions=actions))
    return made


@dataclass(frozen=True)
class Chat:
    """A conversation the bot can post in: its id and the service URL it was validated with."""

    id: str
    service_url: str


def _keep_personal(runtime: Runtime, reference: dict[str, Any]) -> None:
    try:
        with runtime.transaction() as session:
            conversations.store(session, reference, runtime.now())
    except IntegrityError:
        # Another answer to this person created (Teams gave it the same chat) and stored
        # it a moment before: theirs is as good.
        log.info("teams personal chat stored concurrently", extra={"outcome": "duplicate"})


def _stored_personal(runtime: Runtime, user_id: str) -> Chat | None:
    with runtime.transaction() as session:
        row: TeamsConversation | None = conversations.personal_of(session, user_id)
        return Chat(row.id, row.service_url) if row is not None else None


def pacer(turn: Any) -> Pacer:
    """The Teams sender's pacer: one set of windows for its sends and the answers."""
    return outbound_of(turn.runtime).pacer


async def _turn_in(pace: Pacer, key: str) -> None:
    while (delay := pace.delay(key)) > 0:
        await asyncio.sleep(min(delay, 1.0))


async def _paced(turn: Any, key: str, call: Any) -> Any:
    """`await call()` in `key`'s turn; a 429 holds the conversation and tries again."""
    pace = pacer(turn)
    for attempt in range(RETRIES + 1):
        await _turn_in(pace, key)
        try:
            return await call()
        except httpx.HTTPStatusError as error:
            if error.response.status_code != 429 or attempt == RETRIES:
                raise
            wait = min(16.0, 2.0 * 2**attempt) * random.uniform(0.75, 1.25)
            pace.hold(key, wait)
    raise AssertionError("unreachable")


async def personal_chat(turn: Any, person: Person) -> Chat:
    """The person's personal chat with the bot: this one, the stored one, or a new one
    (created through this activity's validated service URL, and kept)."""
    where = turn.where
    if where.personal and where.user_id == person.user_id:
        return Chat(where.conversation_id, where.service_url)
    stored = await turn.sync(_stored_personal, turn.runtime, person.user_id)
    if stored is not None:
        return stored

    async def create() -> Any:
        return await turn.api.conversations.create(
            CreateConversationParams(
                members=[Account(id=person.teams_id)],
                tenant_id=where.tenant_id,
                channel_data={"tenant": {"id": where.tenant_id}},
            )
        )

    created = await _paced(turn, f"create:{person.teams_id}", create)
    reference = {
        "id": created.id,
        "service_url": where.service_url,
        "tenant_id": where.tenant_id,
        "bot_id": where.bot_id,
        "conversation_type": conversations.PERSONAL,
        "team_id": None,
        "user_id": person.user_id,
        "name": None,
    }
    await turn.sync(_keep_personal, turn.runtime, reference)
    return Chat(created.id, where.service_url)


async def post(turn: Any, chat: Chat, answers: list[Answer], *, named: bool = True) -> list[str]:
    """Post answers in a conversation, in order; the ids Teams gave them (`named` False:
    rendered without the database, for answers that name nobody)."""
    made = await turn.sync(activities, turn.runtime, answers, named=named)
    key = chat.id.partition(conversations.THREAD_MARK)[0]
    sent = []
    for activity in made:

        async def send(activity: dict[str, Any] = activity) -> Any:
            posted = MessageActivityInput.model_validate(activity)
            return await turn.app.send(chat.id, posted, service_url=chat.service_url)

        sent.append((await _paced(turn, key, send)).id)
    return sent


async def here(turn: Any, answers: list[Answer], *, named: bool = True) -> None:
    """Post in the activity's own conversation (a channel's: in its reply chain)."""
    await post(turn, Chat(turn.where.conversation_id, turn.where.service_url), answers, named=named)


async def database_unavailable(turn: Any, person: Person | None = None) -> None:
    """Tell the person who acted that the records database is not answering, so nothing was
    recorded (Slack's words), straight to Teams (the outbox is in the database): privately
    as any refusal when `person` may use the bot and their personal chat can be found, else
    where they acted (which needs nothing from the database)."""
    words = [said(turn.runtime, "errors/database_unavailable")]
    try:
        if person is not None and person.allowed(turn.where.tenant_id):
            try:
                await privately(turn, person, words, named=False)
                return
            except DBAPIError:
                pass  # their personal chat is known to the database only: said here
        await here(turn, words, named=False)
    except httpx.HTTPError:
        log.warning("could not say the database is not answering", exc_info=True)


async def privately(
    turn: Any,
    person: Person,
    answers: list[Answer],
    *,
    note_here: bool = True,
    named: bool = True,
) -> None:
    """Answer `person` in their personal chat; from elsewhere (`note_here`), the thread
    they typed in is told where to look."""
    if not answers:
        return
    try:
        chat = await personal_chat(turn, person)
        await post(turn, chat, answers, named=named)
    except httpx.HTTPError:
        log.warning("could not answer in the personal chat", exc_info=True)
        return
    if note_here and not turn.where.personal:
        await here(turn, [said(turn.runtime, "teams_answered_in_chat")], named=named)
