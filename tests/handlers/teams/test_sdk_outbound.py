"""What the bot sends, through the SDK's own clients, lands in the fake Bot Connector as
Teams would keep it: proactive messages, a card updated in place, a reply chain, a 1:1
chat, a member's role; and Teams' refusals reach the bot as HTTP errors."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from microsoft_teams.api import Account, CreateConversationParams, MessageActivityInput
from microsoft_teams.apps import to_threaded_conversation_id
from microsoft_teams.cards import AdaptiveCard, ExecuteAction, TextBlock

from handlers.teams.app import create_teams_app

CHANNEL = "19:reviews@thread.tacv2"


def card(status: str) -> AdaptiveCard:
    return AdaptiveCard(
        body=[TextBlock(text=f"Wrexham 2019-20, version 1: {status}")],
        actions=[ExecuteAction(title="Approve", verb="approve", data={"draft": 1})],
    )


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def teams_app(teams_settings):
    app, _ = create_teams_app(teams_settings)
    run(app.initialize())
    return app


def test_a_card_posted_then_updated_in_place_with_its_reply_chain(teams_app, cloud):
    cloud.add_channel(CHANNEL, [])

    async def scenario():
        sent = await teams_app.send(CHANNEL, card("in review"), service_url=cloud.service_url)
        threaded = to_threaded_conversation_id(CHANNEL, sent.id)
        await teams_app.send(threaded, "The letter's text", service_url=cloud.service_url)
        update = MessageActivityInput(id=sent.id).add_card(card("approved"))
        await teams_app.send(CHANNEL, update, service_url=cloud.service_url)
        return sent.id

    root = run(scenario())
    posted = cloud.posted(CHANNEL)
    assert [a.get("replyToId") for a in posted] == [None, root]
    content = posted[0]["attachments"][0]["content"]
    assert posted[0]["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert content["body"][0]["text"].endswith("approved")
    assert content["actions"][0]["type"] == "Action.Execute"
    assert posted[1]["text"] == "The letter's text"
    assert cloud.refusals == []


def test_a_personal_chat_is_created_and_a_member_read_with_its_role(teams_app, cloud):
    ann = cloud.add_user("aad-ann", "Ann Inspector")
    gus = cloud.add_user("aad-gus", "Gus Guest", role="guest")
    cloud.add_channel(CHANNEL, [ann["id"], gus["id"]])

    async def scenario():
        api = teams_app.api.clone(service_url=cloud.service_url)
        chat = await api.conversations.create(
            CreateConversationParams(
                members=[Account(id=ann["id"])],
                tenant_id=cloud.tenant_id,
                channel_data={"tenant": {"id": cloud.tenant_id}},
            )
        )
        await teams_app.send(chat.id, "A12 is tomorrow", service_url=cloud.service_url)
        member = await api.conversations.get_member_by_id(CHANNEL, gus["id"])
        return chat.id, member

    chat_id, member = run(scenario())
    assert [a["text"] for a in cloud.posted(chat_id)] == ["A12 is tomorrow"]
    assert member.user_role == "guest"
    assert member.aad_object_id == "aad-gus"


def test_teams_refusals_reach_the_bot_as_http_errors(teams_app, cloud):
    cloud.add_channel(CHANNEL, [])

    async def too_big():
        await teams_app.send(CHANNEL, "x" * 20_000, service_url=cloud.service_url)

    with pytest.raises(httpx.HTTPStatusError) as raised:
        run(too_big())
    assert raised.value.response.status_code == 413
    assert raised.value.response.json()["error"]["code"] == "MessageSizeTooBig"
    assert cloud.posted(CHANNEL) == []
    assert [r.code for r in cloud.expect_refusals()] == ["MessageSizeTooBig"]
