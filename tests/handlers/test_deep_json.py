"""JSON nested deeper than the parser goes (it raises RecursionError, not ValueError) is a
400 on every route that reads JSON, never a 500, and leaves no error or traceback in the
logs: Teams' /api/messages (before any token is looked at) and Slack's /slack/events,
signed or not, with Slack alone and with Slack and Teams on one port."""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.handlers.teams.double import FakeTeams

DEPTH = 100_000
FORM, JSON = "application/x-www-form-urlencoded", "application/json"


def deep(opening: str = "[", closing: str = "]") -> str:
    return opening * DEPTH + closing * DEPTH


DEEP = {
    "array": deep(),
    "object": '{"a":' * DEPTH + "1" + "}" * DEPTH,
    "inside an activity": '{"type": "message", "value": ' + deep() + "}",
}


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def quiet(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What was logged at error level or with a traceback (nothing should be)."""
    return [
        f"{r.name} {r.levelname} {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info or r.exc_text
    ]


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_deep_json_to_teams_is_400(one_port, cloud: FakeTeams, caplog, kind):
    _, workspace = one_port
    caplog.set_level(logging.INFO)
    body = DEEP[kind].encode()
    for headers in ({}, {"Authorization": f"Bearer {cloud.inbound_token()}"}):
        status = post(f"{workspace.base}/api/messages", body, {"Content-Type": JSON, **headers})
        assert status == 400
    assert quiet(caplog) == []
    assert cloud.calls == []


def slack_bodies() -> dict[str, tuple[bytes, str]]:
    payload = '{"type": "block_actions", "actions": ' + deep() + "}"
    return {
        "json": (DEEP["object"].encode(), JSON),
        "json event": (('{"type": "event_callback", "event": ' + deep() + "}").encode(), JSON),
        "payload form": (urllib.parse.urlencode({"payload": payload}).encode(), FORM),
        "form, deep payload only": (urllib.parse.urlencode({"payload": deep()}).encode(), FORM),
    }


@pytest.mark.parametrize("kind", sorted(slack_bodies()))
@pytest.mark.parametrize("served", ["one_port", "slack_alone"])
def test_deep_json_to_slack_is_400_signed_and_401_unsigned(
    request, engine, slack, caplog, served, kind
):
    if served == "one_port":
        _, workspace = request.getfixturevalue("one_port")
    else:
        workspace = request.getfixturevalue("workspace")
    caplog.set_level(logging.INFO)
    body, content_type = slack_bodies()[kind]
    signed = {"Content-Type": content_type, **workspace.requests.sign(body)}
    assert workspace.post(body, signed).status == 400
    assert workspace.post(body, {"Content-Type": content_type}).status == 401
    assert quiet(caplog) == []
    assert slack.calls == []


def test_json_just_within_the_parsers_depth_is_answered_without_error(
    one_port, cloud: FakeTeams, slack, caplog
):
    # Deep, but parseable: refused as what it is (no activity, no token), nothing failing.
    _, workspace = one_port
    caplog.set_level(logging.INFO)
    nested = "[" * 900 + "]" * 900
    activity = '{"type": "message", "value": ' + nested + "}"
    assert post(f"{workspace.base}/api/messages", activity.encode(), {"Content-Type": JSON}) == 401
    event = '{"type": "app_mention", "blocks": ' + nested + "}"
    body = ('{"type": "event_callback", "team_id": "T0", "event": ' + event + "}").encode()
    signed = {"Content-Type": JSON, **workspace.requests.sign(body)}
    assert workspace.post(body, signed).status in {200, 400}
    assert quiet(caplog) == []
