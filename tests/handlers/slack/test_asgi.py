"""Slack's `/slack/events` on the one-port server (`ciw-bot serve` with Teams): its own ASGI
route (`handlers.slack.asgi`) on uvicorn, over real HTTP on loopback, as strict as with
Slack alone and holding no one up while Bolt works."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import Activity
from handlers.serve import Composed

FORM, JSON = "application/x-www-form-urlencoded", "application/json"
COMMAND = "log-activity wrexham adults 2020-03-10T10:00 performance review meeting"


def rows(composed: Composed) -> int:
    with composed.runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(Activity))


def dispatched(composed: Composed) -> list[Any]:
    """Every request that reaches Bolt from now on."""
    assert composed.slack_app is not None
    seen: list[Any] = []
    dispatch = composed.slack_app.dispatch

    def recording(request: Any) -> Any:
        seen.append(request)
        return dispatch(request)

    composed.slack_app.dispatch = recording  # type: ignore[method-assign]
    return seen


def test_a_signed_command_is_acknowledged_and_answered(one_port):
    composed, workspace = one_port
    reply = workspace.command("help")
    assert "log-activity" in reply.get("text")
    reply = workspace.command(COMMAND)
    assert rows(composed) == 1


def test_an_unsigned_or_stale_request_is_401_before_bolt(one_port, slack):
    composed, workspace = one_port
    seen = dispatched(composed)
    body, headers = workspace.requests.command(COMMAND)
    unsigned = {"Content-Type": headers["Content-Type"]}
    wrong = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
    stale = {**headers, **workspace.requests.sign(body, int(time.time()) - 301)}
    for attempt_body, attempt_headers in [
        (body, unsigned),
        (body, wrong),
        (body, stale),
        (body, {**headers, "X-Slack-Request-Timestamp": "1e9"}),
        (body.replace(b"wrexham", b"cardiff"), headers),
    ]:
        assert workspace.post(attempt_body, attempt_headers).status == 401
    assert seen == [] and slack.calls == [] and rows(composed) == 0
    assert workspace.post(body, headers).status == 200  # signed, it is served


def test_a_replay_is_refused_and_does_nothing(one_port, slack):
    composed, workspace = one_port
    body, headers = workspace.requests.command(COMMAND)
    assert workspace.post(body, headers).status == 200
    slack.wait_calls("response_url")
    calls = len(slack.calls)
    assert workspace.post(body, headers).status == 401
    assert rows(composed) == 1
    assert len(slack.calls) == calls


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"[1, 2]", JSON),
        (urllib.parse.urlencode({"payload": "not json"}).encode(), FORM),
        (json.dumps({"type": "event_callback", "authorizations": "x", "event": {}}).encode(), JSON),
    ],
)
def test_a_malformed_signed_request_is_400_never_500(one_port, slack, body, content_type):
    composed, workspace = one_port
    headers = {"Content-Type": content_type, **workspace.requests.sign(body)}
    answer = workspace.post(body, headers)
    assert answer.status == 400, answer
    assert rows(composed) == 0 and slack.calls == []


def test_bolt_answers_as_through_its_own_adapters(one_port, caplog):
    _, workspace = one_port
    caplog.set_level(logging.INFO, logger="ciw.http")
    # Its own responses (a challenge, as JSON), and a retry marked in the request line.
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"}).encode()
    headers = {"Content-Type": "application/json", **workspace.requests.sign(body)}
    answer = workspace.post(body, {**headers, "X-Slack-Retry-Num": "2"})
    assert (answer.status, json.loads(answer.body)) == (200, {"challenge": "c-123"})
    line = next(r for r in caplog.records if r.msg == "request")
    assert (line.path, line.status, line.retry) == ("/slack/events", "200", "2")
    # The rest of the WSGI application is still there behind the route.
    assert workspace.get("/healthz").status == 200
    assert workspace.get("/slack/events").status == 404


def test_teams_and_slack_are_answered_while_a_slow_slack_request_runs(one_port, cloud):
    composed, workspace = one_port
    assert composed.slack_app is not None
    slow_started, release = threading.Event(), threading.Event()

    @composed.slack_app.command("/slow")
    def slow(ack: Any) -> None:
        slow_started.set()
        release.wait(10)  # until the requests below have had their answers
        ack()

    body, _ = workspace.requests.command("help")
    fields = dict(urllib.parse.parse_qsl(body.decode()))
    slow_body = urllib.parse.urlencode({**fields, "command": "/slow"}).encode()
    slow_headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **workspace.requests.sign(slow_body),
    }
    statuses: list[int] = []
    slow_request = threading.Thread(
        target=lambda: statuses.append(workspace.post(slow_body, slow_headers).status)
    )
    slow_request.start()
    assert slow_started.wait(5)
    started = time.monotonic()
    ann = cloud.add_user("aad-ann", "Ann Inspector")
    teams = cloud.signed_post(workspace.base, cloud.message_activity("help", ann))
    with urllib.request.urlopen(teams, timeout=10) as answer:
        assert answer.status == 200
    reply = workspace.command("help")
    assert "log-activity" in reply.get("text")
    took = time.monotonic() - started
    slow_running = slow_request.is_alive()
    release.set()
    slow_request.join()
    # Both answered while the slow request was still in Bolt (on a thread of its own).
    assert slow_running and took < 1.5 and statuses == [200]
