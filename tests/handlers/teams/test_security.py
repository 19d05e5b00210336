"""Who the whole Teams app serves: only activities the Bot Connector signed for this bot,
from this tenant (else 401, nothing processed or kept), and only full members of it
(guests and anonymous users get Slack's refusal, nothing recorded)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import (
    Activity,
    Comment,
    Finding,
    HistoryEntry,
    IdempotencyKey,
    Review,
    TeamsConversation,
    TeamsMember,
)
from tests.handlers.teams.double import _Refused
from tests.handlers.teams.test_gate import REFUSED_TOKENS
from tests.handlers.teams.world import CHANNEL, posted_draft, text_of

GUEST_REFUSAL = (
    "Sorry, the CIW bot is only for full members of this workspace, and guest accounts "
    "cannot use it. Nothing was recorded. If you need access, ask a CIW admin."
)
RECORDS = (Activity, Finding, HistoryEntry, Comment, Review, IdempotencyKey)


def counts(org, *models) -> dict[str, int]:
    with org.runtime.transaction() as session:
        return {
            m.__name__: session.scalar(select(func.count()).select_from(m))
            for m in models or RECORDS
        }


def nothing_recorded(org) -> bool:
    return set(counts(org).values()) == {0}


def connector_calls(org) -> list:
    return [c for c in org.cloud.calls if c.path.startswith("/v3/")]


@pytest.mark.parametrize("who", ["gus", "nia"])
def test_guests_and_anonymous_users_are_refused_in_the_personal_chat(org, who):
    org.say("log-activity wrexham adults 2020-04-20 a meeting", who)
    assert org.last(who) == GUEST_REFUSAL
    org.say("log-finding wrexham people strength Staff are stable.", who)
    org.say("help", who)
    assert org.chat(who) == [GUEST_REFUSAL] * 3
    assert nothing_recorded(org)


def test_a_guest_in_a_channel_is_refused_there_with_nothing_recorded(org):
    org.say("log-activity wrexham adults 2020-04-20 a meeting", "gus", channel=CHANNEL)
    assert [text_of(a) for a in org.replies(CHANNEL)] == [GUEST_REFUSAL]
    assert nothing_recorded(org)
    # No personal chat was opened for them.
    with org.runtime.transaction() as session:
        chats = session.scalars(
            select(TeamsConversation).where(TeamsConversation.user_id == org["gus"].aad)
        ).all()
        assert chats == []


def test_a_guest_cannot_comment_or_click(org):
    draft = posted_draft(org)
    before = counts(org)
    org.say("A guest's comment.", "gus", channel=CHANNEL, thread=draft["root"], mention_bot=False)
    answer = org.click(
        "draft_approve",
        {"value": str(draft["version"])},
        org["gus"],
        conversation=draft["conversation"],
    ).json()
    assert answer["value"] == GUEST_REFUSAL
    org.settle()
    assert counts(org) == before


def test_someone_teams_does_not_know_in_the_conversation_is_refused(org):
    org.cloud.conversations[CHANNEL].members.discard(org["ann"].id)
    org.say("log-activity wrexham adults 2020-04-20 a meeting", "ann", channel=CHANNEL)
    assert [text_of(a) for a in org.replies(CHANNEL)] == [GUEST_REFUSAL]
    assert [r.code for r in org.cloud.expect_refusals()] == ["MemberNotFoundInConversation"]
    assert nothing_recorded(org)


def test_when_teams_cannot_say_who_someone_is_nothing_is_done(org, monkeypatch):
    def unavailable(conversation_id, member_id):
        raise _Refused(503, "ServiceUnavailable", "try later")

    monkeypatch.setattr(org.cloud, "_member", unavailable)
    org.say("log-activity wrexham adults 2020-04-20 a meeting", "ann")
    assert "could not check your Microsoft Teams account" in org.last("ann")
    assert nothing_recorded(org)
    org.cloud.expect_refusals()


def test_a_member_remembered_lately_still_serves_when_teams_cannot_answer(org, monkeypatch):
    org.say("help", "ann")
    with org.runtime.transaction() as session:
        member = session.get(TeamsMember, org["ann"].aad)
        member.checked_at = org.runtime.now().replace(hour=0)  # hours ago: stale, not too old
    monkeypatch.setattr(
        org.cloud, "_member", lambda *_: (_ for _ in ()).throw(_Refused(503, "Down", "down"))
    )
    org.say("log-activity wrexham adults 2020-04-20 a meeting", "ann")
    assert "Recorded A1" in org.last("ann")
    org.cloud.expect_refusals()


@pytest.mark.parametrize("kind", sorted(REFUSED_TOKENS))
def test_a_bad_token_gets_401_and_the_app_keeps_nothing(org, kind):
    # test_gate's refused tokens, against the whole app: nothing recorded, no reference kept.
    activity = org.message("log-activity wrexham adults 2020-04-20 forged", org["ann"])
    answer = org.post(activity, token=REFUSED_TOKENS[kind](org.cloud))
    assert answer.status_code == 401
    org.settle()
    assert nothing_recorded(org)
    assert counts(org, TeamsConversation, TeamsMember) == {
        "TeamsConversation": 0,
        "TeamsMember": 0,
    }
    assert connector_calls(org) == []


def test_another_tenant_and_another_service_url_get_401(org):
    other = org.message("log-activity wrexham adults 2020-04-20 elsewhere", org["ann"])
    other["conversation"]["tenantId"] = other["channelData"]["tenant"]["id"] = "22222222-other"
    assert org.post(other).status_code == 401
    moved = org.message("log-activity wrexham adults 2020-04-20 moved", org["ann"])
    moved["serviceUrl"] = "https://attacker.example/teams/"
    assert org.post(moved).status_code == 401
    # A token for another service URL, with the activity's pointing at the fake.
    token = org.cloud.inbound_token(service_url="https://attacker.example/teams/")
    assert org.post(org.message("help", org["ann"]), token=token).status_code == 401
    org.settle()
    assert nothing_recorded(org)
    assert counts(org, TeamsConversation)["TeamsConversation"] == 0
    assert connector_calls(org) == []


def test_an_expired_token_replayed_later_is_refused(org):
    import time

    now = int(time.time())
    stale = org.cloud.inbound_token(iat=now - 7200, nbf=now - 7200, exp=now - 1000)
    answer = org.post(org.message("log-activity wrexham adults 2020-04-20 x", org["ann"]), stale)
    assert answer.status_code == 401
    assert nothing_recorded(org)


def test_installing_the_bot_in_a_team_keeps_the_channels_reference(org):
    activity = org.message("", org["ann"], channel=CHANNEL, mention_bot=False)
    activity.update(type="installationUpdate", action="add")
    for key in ("text", "textFormat", "entities"):
        activity.pop(key)
    assert org.post(activity).status_code == 200
    update = org.message(
        "", org["ann"], channel="19:inspections-general@thread.tacv2", mention_bot=False
    )
    update.update(type="conversationUpdate", membersAdded=[{"id": org.bot_id}])
    update["channelData"]["eventType"] = "teamMemberAdded"
    for key in ("text", "textFormat", "entities"):
        update.pop(key)
    assert org.post(update).status_code == 200
    org.settle()
    with org.runtime.transaction() as session:
        rows = {r.id: r for r in session.scalars(select(TeamsConversation))}
        assert set(rows) == {CHANNEL, "19:inspections-general@thread.tacv2"}
        channel = rows[CHANNEL]
        assert channel.conversation_type == "channel"
        assert channel.team_id == "19:inspections-general@thread.tacv2"
        assert channel.service_url == org.cloud.service_url
        assert channel.tenant_id == org.cloud.tenant_id
    assert nothing_recorded(org)
