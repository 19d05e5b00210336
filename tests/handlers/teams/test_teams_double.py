"""The fake Teams cloud is as strict as the real one: these pin its rules."""

import time

import jwt
import pytest
import requests

from tests.handlers.teams.double import (
    BOT_SCOPE,
    CONNECTOR_ISSUER,
    DOWNLOAD_LIFETIME,
    FILE_INFO,
    FakeTeams,
    Signer,
    delivered_attachments,
    fake_teams,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def teams(clock):
    with fake_teams(clock=clock) as double:
        yield double


def bot_token(teams: FakeTeams, **form) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "client_id": teams.app_id,
        "client_secret": teams.app_password,
        "scope": BOT_SCOPE,
        **form,
    }
    return requests.post(f"{teams.login_url}/{teams.tenant_id}/oauth2/v2.0/token", data=data)


@pytest.fixture
def connector(teams):
    """A session that calls the Bot Connector with the bot's own token."""
    session = requests.Session()
    token = bot_token(teams).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    session.base = teams.service_url + "v3/conversations"
    return session


def test_inbound_tokens_validate_against_the_published_keys(teams):
    metadata = requests.get(teams.openid_metadata_url).json()
    assert metadata["issuer"] == CONNECTOR_ISSUER
    keys = jwt.PyJWKClient(metadata["jwks_uri"])
    token = teams.inbound_token()
    claims = jwt.decode(
        token,
        keys.get_signing_key_from_jwt(token).key,
        algorithms=["RS256"],
        audience=teams.app_id,
        issuer=CONNECTOR_ISSUER,
    )
    assert claims["serviceurl"] == teams.service_url
    forged = teams.inbound_token(signer=Signer(kid=teams.connector_keys.kid))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            forged,
            keys.get_signing_key_from_jwt(forged).key,
            algorithms=["RS256"],
            audience=teams.app_id,
        )
    assert requests.get(metadata["jwks_uri"]).json()["keys"][0]["endorsements"] == ["msteams"]


def test_login_issues_the_bot_token_for_client_credentials(teams):
    answer = bot_token(teams)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["appid"] == teams.app_id
    assert claims["aud"] == "https://api.botframework.com"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "guess"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 400, "unauthorized_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"scope": "https://api.botframework.com"}, 400, "invalid_scope"),
        ({"scope": "https://graph.microsoft.com/.default"}, 400, "invalid_resource"),
    ],
)
def test_login_refuses_as_entra_does(teams, form, status, error):
    answer = bot_token(teams, **form)
    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert answer.json()["error_description"].startswith("AADSTS")
    assert "access_token" not in answer.json()


def test_login_wants_a_form_and_a_known_tenant(teams):
    answer = requests.post(
        f"{teams.login_url}/{teams.tenant_id}/oauth2/v2.0/token",
        json={"grant_type": "client_credentials"},
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    answer = requests.post(
        f"{teams.login_url}/another-tenant/oauth2/v2.0/token",
        data={"grant_type": "client_credentials"},
    )
    assert answer.json()["error_codes"] == [90002]


def test_connector_wants_this_bots_token(teams):
    teams.add_channel("19:general@thread.tacv2", [])
    url = teams.service_url + "v3/conversations/19:general@thread.tacv2/activities"
    assert requests.post(url, json={"type": "message", "text": "hi"}).status_code == 401
    inbound = teams.inbound_token()  # the Connector's own token is not the bot's
    answer = requests.post(
        url, json={"type": "message"}, headers={"Authorization": f"Bearer {inbound}"}
    )
    assert answer.status_code == 401
    # A token this login signed for another app is not this bot's either.
    now = int(time.time())
    other = teams.login_keys.sign(
        {"aud": "https://api.botframework.com", "appid": "another-app", "exp": now + 600}
    )
    answer = requests.post(
        url, json={"type": "message"}, headers={"Authorization": f"Bearer {other}"}
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "Authorization has been denied for this request."
    assert teams.posted("19:general@thread.tacv2") == []


def test_send_reply_chain_and_update(teams, connector):
    channel = "19:general@thread.tacv2"
    teams.add_channel(channel, [])
    root = connector.post(
        f"{connector.base}/{channel}/activities", json={"type": "message", "text": "Draft v1"}
    )
    assert root.status_code == 201
    root_id = root.json()["id"]
    in_chain = connector.post(
        f"{connector.base}/{channel};messageid={root_id}/activities",
        json={"type": "message", "text": "The letter"},
    )
    reply = connector.post(
        f"{connector.base}/{channel}/activities/{in_chain.json()['id']}",
        json={"type": "message", "text": "Version 2"},
    )
    posted = teams.posted(channel)
    assert [a.get("replyToId") for a in posted] == [None, root_id, root_id]
    updated = connector.put(
        f"{connector.base}/{channel}/activities/{root_id}",
        json={"type": "message", "text": "Draft v1: approved"},
    )
    assert updated.status_code == 200
    assert teams.posted(channel)[0]["text"] == "Draft v1: approved"
    assert reply.status_code == 201
    missing = connector.put(
        f"{connector.base}/{channel}/activities/nope", json={"type": "message", "text": "x"}
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ActivityNotFoundInConversation"
    unknown = connector.post(
        f"{connector.base}/19:elsewhere@thread.tacv2/activities", json={"type": "message"}
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "ConversationNotFound")


def test_create_one_to_one_and_member_lookup(teams, connector):
    ann = teams.add_user("aad-ann", "Ann Inspector")
    guest = teams.add_user("aad-gus", "Gus Guest", role="guest")
    teams.add_channel("19:team@thread.tacv2", [ann["id"], guest["id"]])
    body = {
        "isGroup": False,
        "bot": {"id": f"28:{teams.app_id}"},
        "members": [{"id": ann["id"]}],
        "channelData": {"tenant": {"id": teams.tenant_id}},
    }
    first = connector.post(connector.base, json=body)
    again = connector.post(connector.base, json=body)
    assert first.status_code == 201 and first.json()["id"] == again.json()["id"]
    sent = connector.post(
        f"{connector.base}/{first.json()['id']}/activities",
        json={"type": "message", "text": "Reminder"},
    )
    assert sent.status_code == 201
    stranger = connector.post(connector.base, json={**body, "members": [{"id": "29:nobody"}]})
    assert stranger.json()["error"]["message"] == "Failed to decrypt pairwise id"
    other_tenant = connector.post(
        connector.base, json={**body, "channelData": {"tenant": {"id": "elsewhere"}}}
    )
    assert other_tenant.status_code == 400
    member = connector.get(f"{connector.base}/19:team@thread.tacv2/members/{guest['id']}")
    assert member.json()["userRole"] == "guest"
    by_object_id = connector.get(f"{connector.base}/19:team@thread.tacv2/members/aad-ann")
    assert by_object_id.json()["userRole"] == "user"
    outsider = teams.add_user("aad-out", "Out Sider")
    absent = connector.get(f"{connector.base}/19:team@thread.tacv2/members/{outsider['id']}")
    assert (absent.status_code, absent.json()["error"]["code"]) == (
        404,
        "MemberNotFoundInConversation",
    )


def test_message_size_limit_counts_utf16(teams, connector):
    channel = "19:general@thread.tacv2"
    teams.add_channel(channel, [])
    url = f"{connector.base}/{channel}/activities"
    fits = connector.post(url, json={"type": "message", "text": "a" * 14_000})
    assert fits.status_code == 201
    # The same number of characters is fine; twice as many is over 28 KB in UTF-16.
    too_big = connector.post(url, json={"type": "message", "text": "a" * 28_000})
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "MessageSizeTooBig"
    assert len(teams.posted(channel)) == 1
    assert [r.code for r in teams.refusals] == ["MessageSizeTooBig"]


def test_per_conversation_rate_limits(teams, connector, clock):
    teams.add_channel("19:a@thread.tacv2", [])
    teams.add_channel("19:b@thread.tacv2", [])

    def send(channel: str) -> int:
        return connector.post(
            f"{connector.base}/{channel}/activities", json={"type": "message", "text": "x"}
        ).status_code

    assert [send("19:a@thread.tacv2") for _ in range(7)] == [201] * 7
    eighth = send("19:a@thread.tacv2")
    assert eighth == 429  # 7 a second
    assert send("19:b@thread.tacv2") == 201  # another conversation has its own
    clock.now += 1.0
    assert send("19:a@thread.tacv2") == 201  # the 8th within 2 s
    assert send("19:a@thread.tacv2") == 429  # but not a 9th
    teams.add_channel("19:c@thread.tacv2", [])
    paced = []
    for _ in range(60):  # 4 a second: within the 1 s and 2 s limits
        clock.now += 0.25
        paced.append(send("19:c@thread.tacv2"))
    assert paced == [201] * 60
    clock.now += 0.25
    assert send("19:c@thread.tacv2") == 429  # 60 in 30 s
    clock.now += 30
    assert send("19:c@thread.tacv2") == 201
    assert teams.refusals[-1].status == 429
    assert teams.refusals[-1].code == "Throttled"


# -- files sent to the bot (bots-filesv4, "Receive files in personal chat") --------------------
def test_a_file_is_delivered_as_teams_documents_it_and_served_to_a_plain_get(teams):
    attachment = teams.send_file("pecyn.docx", b"PK\x03\x04 the pack")
    assert attachment["contentType"] == FILE_INFO
    assert attachment["name"] == "pecyn.docx"
    content = attachment["content"]
    assert set(content) == {"downloadUrl", "uniqueId", "fileType", "etag"}
    assert content["fileType"] == "docx"
    answer = requests.get(content["downloadUrl"])
    assert answer.status_code == 200 and answer.content == b"PK\x03\x04 the pack"
    # The fake counts what it served once its write returns, which can be just after the
    # client has read the bytes: wait for the count rather than race it.
    hosted = teams.files[content["uniqueId"]]
    deadline = time.monotonic() + 5
    while hosted.served < len(answer.content) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert hosted.served == len(answer.content)
    assert teams.refusals == []


def test_a_download_url_takes_no_token_works_minutes_and_only_as_issued(teams, clock):
    url = teams.send_file("pecyn.docx", b"bytes")["content"]["downloadUrl"]
    with_token = requests.get(url, headers={"Authorization": "Bearer anything"})
    assert with_token.status_code == 401
    assert requests.get(url.replace("tempauth=", "tempauth=x")).status_code == 401
    assert requests.get(url).status_code == 200
    clock.now += DOWNLOAD_LIFETIME + 1  # "only valid for a few minutes"
    assert requests.get(url).status_code == 401
    assert [r.status for r in teams.expect_refusals()] == [401, 401, 401]


def test_files_reach_the_bot_in_a_personal_chat_only(teams):
    attachments = [teams.send_file("pecyn.docx", b"x"), {"contentType": "text/html"}]
    assert delivered_attachments("personal", attachments) == attachments
    for kind in ("channel", "groupChat"):
        assert delivered_attachments(kind, attachments) == [{"contentType": "text/html"}]


def test_a_hostile_download_url_lies_about_its_length_or_streams_unbounded(teams):
    liar = teams.send_file("a.docx", b"x" * 100, length=10)["content"]["downloadUrl"]
    answer = requests.get(liar, stream=True)
    assert answer.headers["Content-Length"] == "10" and len(answer.raw.read(1000)) == 10
    endless = teams.send_file("b.docx", 3 * 2**20, length="chunked")["content"]["downloadUrl"]
    answer = requests.get(endless)
    assert "Content-Length" not in answer.headers and len(answer.content) == 3 * 2**20
    fails = teams.send_file("c.docx", b"x", behaviour="fail")["content"]["downloadUrl"]
    assert requests.get(fails).status_code == 500
    teams.expect_refusals()
