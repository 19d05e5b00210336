"""The Teams sender through the fake cloud on loopback: reminders and announcements as
proactive messages in personal chats and channels, exactly once across clock runs, paced,
split to fit, retried after a 429, given up with the error kept when there is nowhere to go.

The fake Bot Connector enforces Teams' size and rate limits and the `cloud` fixture fails
a test on any refusal it did not expect."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.cli import main
from bot.delivery.messages import shield
from bot.delivery.outbox import LEASE, NOTICE, enqueue, wall_clock
from bot.records import activities
from bot.records.dates import parse_when
from bot.render import Templates
from bot.runtime import Runtime
from bot.settings import Settings
from db.models import Authority, Delivery, Service, TeamsConversation, TeamsMember
from handlers.teams import cards, sender
from handlers.teams.platform import attach, platform_of
from handlers.teams.text import visible
from tests.handlers.teams.double import Conversation, FakeTeams

LONDON = ZoneInfo("Europe/London")
CHANNEL = "19:inspections@thread.tacv2"
TEAM = "19:ciwteam@thread.tacv2"
ANN = "0a0a0a0a-0000-4000-8000-00000000a001"  # has a personal chat with the bot
BEA = "0b0b0b0b-0000-4000-8000-00000000b002"  # known member, no personal chat yet
PUBLIC_URL = "https://ciw.example.org"


def office(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso).replace(tzinfo=LONDON).astimezone(dt.UTC)


class Clock:
    def __init__(self, iso: str) -> None:
        self.value = office(iso)

    def __call__(self) -> dt.datetime:
        return self.value

    def set(self, iso: str) -> None:
        self.value = office(iso)


def teams_env(cloud: FakeTeams) -> dict[str, str]:
    return {
        "TEAMS_APP_ID": cloud.app_id,
        "TEAMS_APP_PASSWORD": cloud.app_password,
        "TEAMS_TENANT_ID": cloud.tenant_id,
        "TEAMS_OPENID_METADATA_URL": cloud.openid_metadata_url,
        "TEAMS_LOGIN_URL": cloud.login_url,
        "PUBLIC_URL": PUBLIC_URL,
    }


def store_world(runtime: Runtime, cloud: FakeTeams) -> None:
    """What the inbound side would have stored: the channel's reference, Ann's personal
    chat, both members; and the same world in the fake cloud."""
    ann = cloud.add_user(ANN, "Ann Inspector")
    bea = cloud.add_user(BEA, "Bea Reviewer")
    cloud.add_channel(CHANNEL, [ann["id"], bea["id"]])
    chat = f"a:personal-{ANN}"
    cloud.conversations[chat] = Conversation(chat, "personal", cloud.tenant_id, {ann["id"]})
    now = office("2020-03-01T09:00")
    with runtime.transaction() as session:
        common = {
            "service_url": cloud.service_url,
            "tenant_id": cloud.tenant_id,
            "bot_id": f"28:{cloud.app_id}",
            "updated_at": now,
        }
        session.add(
            TeamsConversation(
                id=CHANNEL, conversation_type="channel", team_id=TEAM, name="Inspections", **common
            )
        )
        session.add(TeamsConversation(id=chat, conversation_type="personal", user_id=ANN, **common))
        for user in (ann, bea):
            session.add(
                TeamsMember(
                    user_id=user["aadObjectId"],
                    teams_id=user["id"],
                    name=user["name"],
                    user_role="user",
                    tenant_id=cloud.tenant_id,
                    checked_at=now,
                )
            )


@pytest.fixture
def teams_runtime(cloud: FakeTeams, engine) -> Iterator[Runtime]:
    """A runtime serving Teams (through the fake cloud) on the test database."""
    settings = dataclasses.replace(
        Settings.from_env(teams_env(cloud)), database_url=engine.url.render_as_string(False)
    )
    runtime = Runtime(
        settings=settings, engine=engine, templates=Templates(), clock=Clock("2020-03-02T10:00")
    )
    attach(runtime)
    store_world(runtime, cloud)
    yield runtime
    runtime.shutdown()


def log(runtime: Runtime, when: str, *, inspectors=(ANN, BEA), now="2020-03-02T10:00") -> int:
    """An activity logged from the Teams channel, as the inbound side logs it; its id."""
    moment = office(now)
    with runtime.transaction() as session:
        authority = session.scalar(select(Authority).where(Authority.slug == "wrexham"))
        activity = activities.log_activity(
            session,
            authority=authority,
            service=Service.CHILDREN,
            when=parse_when(when),
            title="performance review meeting **with HIW** @channel",
            details=None,
            inspectors=list(inspectors),
            actor=inspectors[0],
            channel_id=CHANNEL,
            today=moment.astimezone(LONDON).date(),
            now=moment,
            platform="teams",
        )
        return activity.id


def rows(runtime: Runtime) -> list[Delivery]:
    with runtime.transaction() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def card_text(activity: dict) -> str:
    content = activity["attachments"][0]["content"]
    return "\n".join(visible(b["text"]) for b in content["body"] if b.get("type") == "TextBlock")


def everything(cloud: FakeTeams) -> list[dict]:
    return [a for c in cloud.conversations.values() for a in c.activities.values()]


# -- reminders through `ciw-bot clock --once` ---------------------------------------------------
def test_reminders_reach_personal_chats_and_the_channel_once_across_clock_runs(
    teams_runtime, cloud, engine, monkeypatch, capsys
):
    log(teams_runtime, "2020-04-20T10:00")
    planned = [r for r in rows(teams_runtime) if r.kind == "reminder"]
    assert sorted({r.channel for r in planned}) == sorted({ANN, BEA, CHANNEL})
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in teams_env(cloud).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))

    threads = set(threading.enumerate())
    assert main(["clock", "--once", "--now", "2020-04-09T09:00"]) == 0
    assert "sent 3, failed 0" in capsys.readouterr().out
    assert main(["clock", "--once", "--now", "2020-04-09T09:00"]) == 0
    assert "sent 0, failed 0" in capsys.readouterr().out
    # Each run closed what it opened: no sender's event loop is left running.
    left = [t.name for t in set(threading.enumerate()) - threads if t.is_alive()]
    assert [name for name in left if name.startswith("ciw-")] == []

    ann_chat, bea_chat = f"a:personal-{ANN}", f"a:personal-{BEA}"
    for conversation in (ann_chat, bea_chat, CHANNEL):
        (posted,) = cloud.posted(conversation)
        text = card_text(posted)
        assert "Reminder: A1 starts in 5 working days" in text
        assert "Inspectors: Ann Inspector, Bea Reviewer" in text  # names, not Entra ids
        # Typed words stay words: no bold, no broadcast.
        assert "performance review meeting **with HIW** @channel" in text
        content = posted["attachments"][0]["content"]
        assert [a["verb"] for a in content["actions"]] == [
            "reminder_done",
            "reminder_snooze",
            "reminder_list",
        ]
        assert posted["channelData"][cards.KEY_PROPERTY].startswith("remind:A1:before-5:")
        assert cards.activity_size(posted) <= cards.MESSAGE_LIMIT
    # Bea had no personal chat: it was created from her member record and stored.
    create = [c for c in cloud.calls if c.method == "POST" and c.path == "/v3/conversations"]
    assert len(create) == 1 and create[0].body["members"] == [{"id": f"29:{BEA}"}]
    with teams_runtime.transaction() as session:
        stored = session.get(TeamsConversation, bea_chat)
        assert stored.user_id == BEA and stored.service_url == cloud.service_url
        sent = session.scalars(
            select(Delivery).where(Delivery.sent_at.is_not(None)).order_by(Delivery.id)
        ).all()
        assert len(sent) == 3
        ids = {a["id"] for c in (ann_chat, bea_chat, CHANNEL) for a in cloud.posted(c)}
        assert {r.message_ts for r in sent} == ids


def test_an_announcement_after_a_reschedule_goes_to_the_same_people(teams_runtime, cloud):
    activity_id = log(teams_runtime, "2020-04-20T10:00")
    moment = office("2020-03-03T11:00")
    teams_runtime.clock.set("2020-03-03T11:00")
    with teams_runtime.transaction() as session:
        activity = activities.get_activity(session, activity_id)
        activities.reschedule(
            session,
            activity,
            parse_when("2020-05-04T10:00"),
            reason="the director is away <at>Boss</at>",
            actor=BEA,
            now=moment,
            today=moment.astimezone(LONDON).date(),
        )
    assert sender.send_pending(teams_runtime) == 3
    for conversation in (f"a:personal-{ANN}", f"a:personal-{BEA}", CHANNEL):
        (posted,) = cloud.posted(conversation)
        text = card_text(posted)
        assert "A1 rescheduled by Bea Reviewer" in text
        assert "Reason: the director is away <at>Boss</at>" in text
        assert "&lt;at&gt;" in posted["attachments"][0]["content"]["body"][0]["text"]
    # The old reminders stopped; the new date's are planned.
    planned = {r.due_at for r in rows(teams_runtime) if r.kind == "reminder" and not r.cancelled_at}
    assert planned == {office("2020-04-27T09:00"), office("2020-05-01T09:00")}


def test_the_sender_wakes_after_a_commit(teams_runtime, cloud):
    with teams_runtime.transaction() as session:
        enqueue(
            session,
            key="notice:1",
            kind=NOTICE,
            channel=CHANNEL,
            due_at=teams_runtime.now(),
            platform="teams",
            payload={"text": "**Heads up**: " + shield("typed _words_")},
        )
    teams_runtime.kick()
    deadline = dt.datetime.now() + dt.timedelta(seconds=20)
    while not cloud.posted(CHANNEL) and dt.datetime.now() < deadline:
        import time

        time.sleep(0.05)
    (posted,) = cloud.posted(CHANNEL)
    assert card_text(posted) == "Heads up: typed _words_"


# -- limits --------------------------------------------------------------------------------------
def test_a_429_from_teams_is_retried_after_a_backoff_and_sent_once(teams_runtime, cloud):
    platform = platform_of(teams_runtime)
    plain = cards.activity(cards.card_of([cards.text_block("another process of the bot")]))
    for _ in range(7):  # the same bot elsewhere fills the channel's first second
        platform.connector.post(CHANNEL, plain, cloud.service_url)
    with teams_runtime.transaction() as session:
        enqueue(
            session,
            key="notice:429",
            kind=NOTICE,
            channel=CHANNEL,
            due_at=teams_runtime.now(),
            platform="teams",
            payload={"text": "after the throttle"},
        )
    report = sender.send_due(teams_runtime)
    assert report.sent == 1 and report.failed == 1  # refused once, then sent in the same pass
    refused = cloud.expect_refusals()
    assert [(r.status, r.code) for r in refused] == [(429, "Throttled")]
    texts = [card_text(a) for a in cloud.posted(CHANNEL)]
    assert texts.count("after the throttle") == 1
    (row,) = [r for r in rows(teams_runtime) if r.key == "notice:429"]
    assert row.sent_at is not None and row.attempts == 2 and row.last_error is None


def test_the_pacer_keeps_a_burst_below_teams_limits(teams_runtime, cloud):
    with teams_runtime.transaction() as session:
        for n in range(12):
            enqueue(
                session,
                key=f"notice:burst:{n}",
                kind=NOTICE,
                channel=CHANNEL,
                due_at=teams_runtime.now(),
                platform="teams",
                payload={"text": f"message {n}"},
            )
    report = sender.send_due(teams_runtime)
    assert report.sent == 12 and report.failed == 0  # no 429: the fake would have refused
    assert [card_text(a) for a in cloud.posted(CHANNEL)] == [f"message {n}" for n in range(12)]


def test_a_message_too_big_for_one_activity_goes_in_parts_that_each_fit(teams_runtime, cloud):
    paragraph = "Findings about people's well-being, typed at length & with *stars*. " * 40
    text = "\n\n".join(shield(f"{n}: {paragraph}") for n in range(40))
    with teams_runtime.transaction() as session:
        enqueue(
            session,
            key="notice:big",
            kind=NOTICE,
            channel=CHANNEL,
            due_at=teams_runtime.now(),
            platform="teams",
            payload={"text": text},
        )
    assert sender.send_due(teams_runtime).sent == 1
    posted = cloud.posted(CHANNEL)
    assert len(posted) > 3
    for activity in posted:
        assert cards.activity_size(activity) <= cards.MESSAGE_LIMIT
        assert activity["channelData"][cards.KEY_PROPERTY] == "notice:big"
    shown = "\n\n".join(card_text(a) for a in posted)
    assert shown.split() == "".join(f"{n}: {paragraph}" for n in range(40)).split()
    (row,) = rows(teams_runtime)
    assert row.message_ts == posted[0]["id"]
    assert row.payload["teams_sent"] == [a["id"] for a in posted[:-1]]


# -- nowhere to go, nobody to tell -----------------------------------------------------------------
def test_no_conversation_reference_gives_the_row_up_with_the_error_kept(
    teams_runtime, cloud, caplog
):
    stranger = "0c0c0c0c-0000-4000-8000-00000000c003"
    with teams_runtime.transaction() as session:
        for key, channel in (
            ("notice:nowhere", "19:unknown@thread.tacv2"),
            ("notice:who", stranger),
        ):
            enqueue(
                session,
                key=key,
                kind=NOTICE,
                channel=channel,
                due_at=teams_runtime.now(),
                platform="teams",
                payload={"text": "hello"},
            )
    with caplog.at_level(logging.ERROR, logger="ciw.teams.sender"):
        report = sender.send_due(teams_runtime)
    assert report.failed == 2 and report.sent == 0
    by_key = {r.key: r for r in rows(teams_runtime)}
    nowhere, who = by_key["notice:nowhere"], by_key["notice:who"]
    assert nowhere.cancelled_at is not None and nowhere.sent_at is None
    assert "no Teams conversation reference for 19:unknown@thread.tacv2" in nowhere.last_error
    assert who.cancelled_at is not None and "no personal chat" in who.last_error
    assert sum("given up" in r.message for r in caplog.records) == 2
    assert everything(cloud) == []
    assert sender.send_due(teams_runtime).sent == 0  # given up means given up


def test_a_guest_gets_no_reminder_and_a_personal_chat_named_as_channel_none(teams_runtime, cloud):
    with teams_runtime.transaction() as session:
        session.get(TeamsMember, BEA).user_role = "guest"
    log(teams_runtime, "2020-04-20T10:00")
    report = sender.send_due(teams_runtime, office("2020-04-09T09:00"))
    assert report.sent == 2 and report.dropped == 1
    assert cloud.posted(f"a:personal-{BEA}") == []
    (bea_row,) = [r for r in rows(teams_runtime) if r.channel == BEA and r.cancelled_at]
    assert bea_row.last_error == "not sent: the recipient is a guest"


# -- exactly once, as far as Teams allows -------------------------------------------------------------
def _notice(runtime: Runtime, key: str, channel: str = CHANNEL) -> None:
    with runtime.transaction() as session:
        enqueue(
            session,
            key=key,
            kind=NOTICE,
            channel=channel,
            due_at=runtime.now(),
            platform="teams",
            payload={"text": key},
        )


def _lapse(runtime: Runtime, key: str, **values) -> None:
    lapsed = wall_clock() - LEASE - dt.timedelta(seconds=1)
    with runtime.transaction() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.key == key)
            .values(claimed_at=lapsed, claim_token="dead sender", **values)
        )


def test_a_lapsed_claim_that_never_reached_teams_is_sent_normally(teams_runtime, cloud):
    _notice(teams_runtime, "notice:lapsed")
    _lapse(teams_runtime, "notice:lapsed")  # died after claiming, before the call
    report = sender.send_due(teams_runtime)
    assert (report.sent, report.resent) == (1, 0)
    assert len(cloud.posted(CHANNEL)) == 1


def test_a_post_whose_outcome_is_unknown_is_sent_again_once_and_said_so(
    teams_runtime, cloud, caplog
):
    _notice(teams_runtime, "notice:uncertain")
    # A sender stamped it in flight, Teams took it, and the sender died before marking.
    platform = platform_of(teams_runtime)
    with teams_runtime.transaction() as session:
        row = session.scalars(select(Delivery)).one()
        out, _ = sender.render(teams_runtime, session, row, teams_runtime.now())
    platform.connector.post(CHANNEL, out.activities[0], cloud.service_url)
    _lapse(teams_runtime, "notice:uncertain", last_error=sender.IN_FLIGHT)
    with caplog.at_level(logging.WARNING, logger="ciw.teams.sender"):
        report = sender.send_due(teams_runtime)
    assert (report.sent, report.resent) == (1, 1)
    assert "may be there twice" in caplog.text
    posted = cloud.posted(CHANNEL)
    assert len(posted) == 2  # at-least-once, the documented fallback: both carry the key
    assert {a["channelData"][cards.KEY_PROPERTY] for a in posted} == {"notice:uncertain"}
    assert sender.send_due(teams_runtime).sent == 0  # and never a third time


def test_a_read_timeout_is_uncertain_and_a_connection_refused_is_not(teams_runtime, cloud):
    import httpx

    request = httpx.Request("POST", cloud.service_url)
    assert sender.classify(httpx.ReadTimeout("slow", request=request))[0] is False
    assert sender.classify(httpx.RemoteProtocolError("gone", request=request))[0] is False
    assert sender.classify(httpx.ConnectError("refused", request=request))[0] is True
    for status, permanent in (
        (400, True),
        (403, True),
        (404, True),
        (413, True),
        (412, False),
        (429, False),
    ):
        error = httpx.HTTPStatusError(
            "x", request=request, response=httpx.Response(status, request=request, json={})
        )
        certain, final, _ = sender.classify(error)
        assert certain and final is permanent
    for status in (502, 504):
        error = httpx.HTTPStatusError(
            "x", request=request, response=httpx.Response(status, request=request)
        )
        assert sender.classify(error)[:2] == (False, False)  # retried, and Teams may have it
    waits = [sender.backoff(429, n) for n in range(5)]
    assert all(0 < w <= sender.BACKOFF_CAP for w in waits) and waits[4] > waits[0]
