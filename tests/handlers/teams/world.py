"""A CIW tenant as the Teams tests see it: people, a team with a channel, the bot's app
served on loopback, and activities POSTed to it exactly as the Bot Connector sends them
(signed with the fake cloud's keys), the bot's answers read back from the fake."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import requests

from bot.render import Templates
from bot.runtime import Runtime
from handlers.teams import cards, turns
from handlers.teams.text import visible
from tests.handlers.teams.double import Conversation, FakeTeams

TEAM = "19:inspections-general@thread.tacv2"  # a team's id is its General channel's
CHANNEL = "19:reviews@thread.tacv2"
GROUP_CHAT = "19:meeting-group@thread.v2"


def teams_runtime(settings: Any, engine: Any, clock: Callable[[], dt.datetime]) -> Runtime:
    """A runtime on the test database serving Teams: its sender (`handlers.teams.platform`)
    through the fake cloud, as `serve` attaches it."""
    from handlers.teams import platform

    runtime = Runtime(
        settings=replace(settings, database_url=engine.url.render_as_string(False)),
        engine=engine,
        templates=Templates(),
        clock=clock,
    )
    platform.attach(runtime)
    from handlers.teams.outbound import outbound_of
    from tests.conftest import TIME

    # Its pacer skips ahead in the tests' time (tests/conftest.py) rather than sleeping.
    assert outbound_of(runtime).pacer.clock is TIME
    return runtime


@dataclass
class Person:
    """Someone in the tenant: their Teams account as the fake holds it."""

    key: str
    account: dict[str, Any]

    @property
    def aad(self) -> str:
        return self.account["aadObjectId"]

    @property
    def id(self) -> str:
        return self.account["id"]

    @property
    def name(self) -> str:
        return self.account["name"]

    @property
    def at(self) -> str:
        """How Teams writes an @mention of them in a message's text."""
        return f"<at>{self.name}</at>"

    @property
    def chat(self) -> str:
        """Their personal chat with the bot (as the fake names it)."""
        return f"a:personal-{self.aad}"


PEOPLE = {
    "ann": ("0a0a0a0a-0000-4000-8000-00000000a001", "Ann Inspector", "user"),
    "bea": ("0b0b0b0b-0000-4000-8000-00000000b002", "Bea Reviewer", "user"),
    "alex": ("0c0c0c0c-0000-4000-8000-00000000c003", "Alex Jones", "user"),
    "gus": ("0d0d0d0d-0000-4000-8000-00000000d004", "Gus Guest", "guest"),
    "nia": ("0e0e0e0e-0000-4000-8000-00000000e005", "Nia Anonymous", "anonymous"),
}


class Org:
    """The tenant, its people and the served bot."""

    def __init__(self, cloud: FakeTeams, url: str, runtime: Runtime, app: Any) -> None:
        self.cloud = cloud
        self.url = url
        self.runtime = runtime
        self.app = app
        self._ids = itertools.count(1)
        self.people = {
            key: Person(key, cloud.add_user(aad, name, role))
            for key, (aad, name, role) in PEOPLE.items()
        }
        members = {p.id for p in self.people.values()}
        cloud.add_channel(CHANNEL, sorted(members))
        cloud.add_channel(TEAM, sorted(members))
        cloud.conversations[GROUP_CHAT] = Conversation(
            GROUP_CHAT, "groupChat", cloud.tenant_id, set(members)
        )

    def __getitem__(self, key: str) -> Person:
        return self.people[key]

    @property
    def bot_id(self) -> str:
        return f"28:{self.cloud.app_id}"

    # -- activities as the Bot Connector sends them -----------------------------------------
    def _next_id(self) -> str:
        return f"{int(time.time() * 1000)}{next(self._ids):03d}"

    def _base(self, who: Person, where: str, thread: str | None, kind: str) -> dict[str, Any]:
        tenant = self.cloud.tenant_id
        activity_id = self._next_id()
        if kind == "personal":
            conversation_id = who.chat
            self.cloud.conversations.setdefault(
                conversation_id, Conversation(conversation_id, "personal", tenant, {who.id})
            )
            channel_data: dict[str, Any] = {"tenant": {"id": tenant}}
        elif kind == "channel":
            conversation_id = f"{where};messageid={thread or activity_id}"
            channel_data = {
                "tenant": {"id": tenant},
                "team": {"id": TEAM, "name": "Inspections"},
                "channel": {"id": where, "name": "Reviews" if where == CHANNEL else "General"},
            }
        else:
            conversation_id = where
            channel_data = {"tenant": {"id": tenant}}
        now = dt.datetime.now(dt.UTC)
        return {
            "id": activity_id,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "localTimestamp": now.isoformat(),
            "localTimezone": "Europe/London",
            "serviceUrl": self.cloud.service_url,
            "channelId": "msteams",
            "from": {"id": who.id, "name": who.name, "aadObjectId": who.aad},
            "conversation": {
                "id": conversation_id,
                "conversationType": kind,
                "tenantId": tenant,
                **({"isGroup": True} if kind != "personal" else {}),
            },
            "recipient": {"id": self.bot_id, "name": "CIW"},
            "locale": "en-GB",
            "channelData": channel_data,
        }

    def message(
        self,
        text: str,
        who: Person,
        *,
        channel: str | None = None,
        thread: str | None = None,
        group: bool = False,
        mention_bot: bool | None = None,
        mentions: tuple[Person, ...] = (),
    ) -> dict[str, Any]:
        """A message activity: in `who`'s personal chat, or in `channel` (a new post, or a
        reply in the chain of `thread`), or the group chat; `mentions` are the people whose
        `<at>Name</at>` the text holds. In a channel or group chat the bot is @mentioned
        first unless `mention_bot` is False."""
        kind = "channel" if channel else "groupChat" if group else "personal"
        activity = self._base(who, channel or GROUP_CHAT, thread, kind)
        entities: list[dict[str, Any]] = []
        if mention_bot if mention_bot is not None else kind != "personal":
            text = f"<at>CIW</at> {text}"
            entities.append(
                {
                    "type": "mention",
                    "mentioned": {"id": self.bot_id, "name": "CIW"},
                    "text": "<at>CIW</at>",
                }
            )
        for person in mentions:
            entities.append(
                {
                    "type": "mention",
                    "mentioned": {"id": person.id, "name": person.name},
                    "text": person.at,
                }
            )
        entities.append(
            {
                "type": "clientInfo",
                "locale": "en-GB",
                "country": "GB",
                "platform": "Web",
                "timezone": "Europe/London",
            }
        )
        activity.update(type="message", text=text, textFormat="plain", entities=entities)
        if kind == "channel":
            # Teams keeps the person's post: the bot's answer can hang off it.
            posted = self.cloud.conversations[channel]  # type: ignore[index]
            posted.activities[activity["id"]] = {
                **activity,
                "replyToId": thread,
            }
        return activity

    def invoke(
        self, name: str, value: dict[str, Any], who: Person, *, conversation: str | None = None
    ) -> dict[str, Any]:
        """An invoke activity (a card's button, a dialog) from `who`, in their personal chat
        or in `conversation` (a channel's `…;messageid=<card>`)."""
        if conversation is None:
            activity = self._base(who, "", None, "personal")
        else:
            base, _, root = conversation.partition(";messageid=")
            activity = self._base(who, base, root or None, "channel")
        activity.update(type="invoke", name=name, value=value)
        return activity

    def click(
        self, verb: str, data: dict[str, Any], who: Person, *, conversation: str | None = None
    ) -> requests.Response:
        """`who` clicks an Action.Execute button (verb, data) on a card."""
        value = {
            "action": {"type": "Action.Execute", "verb": verb, "data": data},
            "trigger": "manual",
        }
        return self.post(self.invoke("adaptiveCard/action", value, who, conversation=conversation))

    # -- the wire ----------------------------------------------------------------------------
    def post(self, activity: dict[str, Any], token: str | None = "valid") -> requests.Response:
        """POST an activity to /api/messages as the Bot Connector does."""
        headers = {}
        if token == "valid":
            token = self.cloud.inbound_token()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(f"{self.url}/api/messages", json=activity, headers=headers, timeout=15)

    def say(self, text: str, who: Person | str = "ann", **options: Any) -> requests.Response:
        """`who` sends a message; the HTTP answer, once the bot's work after it is done."""
        person = self[who] if isinstance(who, str) else who
        answer = self.post(self.message(text, person, **options))
        assert answer.status_code == 200, answer.text
        self.settle()
        return answer

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the bot's work after its answers is done, and what it queued sent."""
        from tests.conftest import outbox_settled

        background = turns.background(self.app)
        deadline = time.monotonic() + timeout
        for _ in range(2):
            # The work after an answer is handed over before the answer is sent: what is
            # running now is all there is to wait for.
            while running := {work for work in set(background.tasks) if not work.done()}:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the bot's work did not finish")
                concurrent.futures.wait(running, timeout=left)
            outbox_settled(self.runtime, timeout=max(1.0, deadline - time.monotonic()))

    # -- what the bot posted -------------------------------------------------------------------
    def posted(self, conversation_id: str) -> list[dict[str, Any]]:
        """The bot's messages in a conversation (a channel's whole), oldest first."""
        bot = {self.cloud.app_id, self.bot_id}
        return [
            a for a in self.cloud.posted(conversation_id) if (a.get("from") or {}).get("id") in bot
        ]

    def replies(self, conversation_id: str) -> list[dict[str, Any]]:
        """The bot's answers in a conversation: not what the outbox sent (reminders,
        announcements, drafts carry their outbox key)."""
        return [
            a
            for a in self.posted(conversation_id)
            if cards.KEY_PROPERTY not in (a.get("channelData") or {})
        ]

    def chat(self, who: Person | str) -> list[str]:
        """What the bot answered in someone's personal chat, as read."""
        person = self[who] if isinstance(who, str) else who
        return [text_of(a) for a in self.replies(person.chat)]

    def last(self, who: Person | str = "ann") -> str:
        """The last answer the bot posted in someone's personal chat."""
        said = self.chat(who)
        assert said, "the bot said nothing in that chat"
        return said[-1]

    def in_thread(self, channel: str, root: str) -> list[str]:
        """The bot's answers in a channel's reply chain, as read."""
        return [text_of(a) for a in self.replies(channel) if a.get("replyToId") == root]


def _texts(elements: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for element in elements:
        if element.get("type") == "TextBlock":
            found.append(visible(element["text"]))
        elif element.get("type") == "FactSet":
            found += [f"{visible(f['title'])}: {visible(f['value'])}" for f in element["facts"]]
        found += _texts(element.get("items") or [])
        for row in element.get("rows") or []:  # a Table: its cells, a row to a line
            cells = [" ".join(_texts(cell.get("items") or [])) for cell in row.get("cells") or []]
            found.append(" | ".join(cells))
    return found


def text_of(activity: dict[str, Any]) -> str:
    """What a person reads of a posted activity: its text and its card's text."""
    parts = [activity["text"]] if activity.get("text") else []
    card = card_of(activity)
    if card is not None:
        parts += _texts(card.get("body") or [])
    return "\n".join(parts)


def card_of(activity: dict[str, Any]) -> dict[str, Any] | None:
    """The Adaptive Card a posted activity carries, if any."""
    for attachment in activity.get("attachments") or []:
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
            return attachment["content"]
    return None


def actions_of(card: dict[str, Any]) -> list[dict[str, Any]]:
    return list(card.get("actions") or [])


def posted_draft(org: Org) -> dict[str, Any]:
    """A draft of Wrexham 2019-20 asked for in the channel and posted there by the sender:
    its root card, the root's id, the reply chain's conversation id and the version's id."""
    from sqlalchemy import select

    from db.models import Draft

    org.say("log-activity wrexham children 2019-09-24 focused activity", "ann")
    org.say("draft-letter wrexham 2019-20", "ann", channel=CHANNEL)
    with org.runtime.transaction() as session:
        row = session.scalars(select(Draft)).one()
        root, version_id = row.thread_ts, row.versions[-1].id
    assert root, "the review card was not posted"
    card = card_of(org.cloud.conversations[CHANNEL].activities[root])
    return {
        "root": root,
        "conversation": f"{CHANNEL};messageid={root}",
        "version": version_id,
        "card": card,
    }


def welsh_upload(org: Org, who: str = "ann", authority: str = "wrexham") -> int:
    """A Welsh .docx of `who`'s own sent to the bot in their personal chat as Teams delivers
    a file (`file.download.info`), with `welsh <authority>`: the id of the Welsh text it
    was recorded as (for the draft of `authority` awaiting its Welsh)."""
    import io

    import docx
    from sqlalchemy import func, select

    from db.models import WelshText

    document = docx.Document()
    document.add_paragraph("Annwyl Gyfarwyddwr")
    content = io.BytesIO()
    document.save(content)
    activity = org.message(f"welsh {authority}", org[who])
    activity["attachments"] = [org.cloud.send_file("cymraeg.docx", content.getvalue())]
    with org.runtime.transaction() as session:
        before = session.scalar(select(func.count()).select_from(WelshText))
    assert org.post(activity).status_code == 200
    org.settle()
    with org.runtime.transaction() as session:
        after = session.scalar(select(func.count()).select_from(WelshText))
        assert after == before + 1, org.last(who)
        return session.scalars(select(WelshText.id).order_by(WelshText.id.desc())).first()
