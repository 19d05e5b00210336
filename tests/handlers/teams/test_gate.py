"""Only activities the Bot Connector signed for this bot, from this tenant, are processed."""

from __future__ import annotations

import time

import pytest
import requests

from handlers.teams.app import create_teams_app
from tests.handlers.teams.double import Signer


@pytest.fixture
def bot(teams_settings, cloud, serve):
    """The Teams app served on loopback; its message handler records and answers."""
    seen: list[dict] = []

    async def on_message(ctx) -> None:
        seen.append({"text": ctx.activity.text, "from": ctx.activity.from_.aad_object_id})
        await ctx.send(f"heard: {ctx.activity.text}")

    _, asgi = create_teams_app(teams_settings, on_message=on_message)
    served = serve(asgi)
    ann = cloud.add_user("aad-ann", "Ann Inspector")

    def post(activity: dict, token: str | None, **headers: str) -> requests.Response:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(f"{served.url}/api/messages", json=activity, headers=headers)

    return {"seen": seen, "post": post, "ann": ann, "url": served.url}


def connector_sends(cloud) -> list:
    return [c for c in cloud.calls if c.path.startswith("/v3/")]


def test_a_signed_activity_from_the_tenant_is_processed_and_answered(bot, cloud):
    activity = cloud.message_activity("help", bot["ann"])
    answer = bot["post"](activity, cloud.inbound_token())
    assert answer.status_code == 200
    assert bot["seen"] == [{"text": "help", "from": "aad-ann"}]
    # The answer went out through the validated service URL with the bot's own token,
    # which it got from the login endpoint with its client credentials.
    posted = cloud.posted(activity["conversation"]["id"])
    assert [a["text"] for a in posted] == ["heard: help"]
    logins = [c for c in cloud.calls if c.path.endswith("/oauth2/v2.0/token")]
    assert logins and logins[0].body["grant_type"] == "client_credentials"
    assert logins[0].body["client_id"] == cloud.app_id
    assert logins[0].path == f"/{cloud.tenant_id}/oauth2/v2.0/token"
    assert cloud.refusals == []


def _expired(cloud):
    # Beyond the SDK's five minutes of clock skew.
    now = int(time.time())
    return cloud.inbound_token(iat=now - 7200, nbf=now - 7200, exp=now - 3600)


REFUSED_TOKENS = {
    "forged": lambda cloud: cloud.inbound_token(signer=Signer(kid=cloud.connector_keys.kid)),
    "unknown key": lambda cloud: cloud.inbound_token(signer=Signer()),
    "expired": _expired,
    "wrong audience": lambda cloud: cloud.inbound_token(aud="another-bot"),
    "wrong issuer": lambda cloud: cloud.inbound_token(iss="https://evil.example"),
    "wrong serviceurl": lambda cloud: cloud.inbound_token(
        service_url="https://smba.trafficmanager.net/emea/"
    ),
    "no serviceurl": lambda cloud: cloud.inbound_token(serviceurl=None),
    "not a token": lambda cloud: "not.a.token",
}


@pytest.mark.parametrize("kind", sorted(REFUSED_TOKENS))
def test_a_bad_token_gets_401_and_nothing_is_processed(bot, cloud, kind):
    activity = cloud.message_activity("log-finding wrexham children strength x", bot["ann"])
    answer = bot["post"](activity, REFUSED_TOKENS[kind](cloud))
    assert answer.status_code == 401
    assert bot["seen"] == []
    assert connector_sends(cloud) == []


def test_no_token_gets_401(bot, cloud):
    answer = bot["post"](cloud.message_activity("help", bot["ann"]), None)
    assert answer.status_code == 401
    basic = bot["post"](cloud.message_activity("help", bot["ann"]), None, Authorization="Basic x")
    assert basic.status_code == 401
    assert bot["seen"] == []


def test_an_activity_whose_service_url_differs_from_the_tokens_is_refused(bot, cloud):
    # A valid token replayed with the activity pointing the bot's answer elsewhere.
    activity = cloud.message_activity(
        "help", bot["ann"], service_url="https://attacker.example/teams/"
    )
    assert bot["post"](activity, cloud.inbound_token()).status_code == 401
    assert bot["seen"] == []


def test_another_tenants_activity_gets_401(bot, cloud):
    activity = cloud.message_activity("help", bot["ann"], tenant_id="22222222-other")
    assert bot["post"](activity, cloud.inbound_token()).status_code == 401
    # Tenants that disagree between channelData and the conversation are refused too.
    mixed = cloud.message_activity("help", bot["ann"])
    mixed["conversation"]["tenantId"] = "22222222-other"
    assert bot["post"](mixed, cloud.inbound_token()).status_code == 401
    no_tenant = cloud.message_activity("help", bot["ann"])
    del no_tenant["channelData"], no_tenant["conversation"]["tenantId"]
    assert bot["post"](no_tenant, cloud.inbound_token()).status_code == 401
    assert bot["seen"] == []
    assert connector_sends(cloud) == []


def test_a_body_that_is_not_an_activity_gets_400_not_500(bot, cloud):
    answer = requests.post(
        f"{bot['url']}/api/messages",
        data=b"{not json",
        headers={"Authorization": f"Bearer {cloud.inbound_token()}"},
    )
    assert answer.status_code == 400
    listed = requests.post(f"{bot['url']}/api/messages", json=[1, 2])
    assert listed.status_code == 400
    assert bot["seen"] == []
