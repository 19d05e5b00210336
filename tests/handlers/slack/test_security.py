"""Requests Slack did not sign, replays, retries, guests, stray payloads, health and logs."""

import io
import json
import logging
import threading
import time

import pytest
from sqlalchemy import func, select

from bot import logging_setup
from db.models import Activity, HistoryEntry, ProcessedEvent
from db.session import make_engine
from handlers.slack.server import wsgi_app
from handlers.slack.text import visible

COMMAND = "log-activity wrexham children 2019-09-24 focused activity"


def rows(runtime, model=Activity):
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_unsigned_wrongly_signed_and_stale_requests_are_refused(workspace, runtime, slack):
    body, headers = workspace.requests.command(COMMAND)
    unsigned = {"Content-Type": headers["Content-Type"]}
    wrong = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
    stale = {**headers, **workspace.requests.sign(body, int(time.time()) - 301)}
    tampered_body = body.replace(b"wrexham", b"cardiff")
    for attempt_body, attempt_headers in [
        (body, unsigned),
        (body, wrong),
        (body, stale),
        (tampered_body, headers),
    ]:
        assert workspace.post(attempt_body, attempt_headers).status == 401
    assert rows(runtime) == 0
    assert slack.calls == []


def test_a_replayed_request_is_refused_and_does_nothing(workspace, runtime, slack):
    body, headers = workspace.requests.command(COMMAND)
    assert workspace.post(body, headers).status == 200
    slack.wait_calls("response_url")
    assert rows(runtime) == 1
    calls = len(slack.calls)
    assert workspace.post(body, headers).status == 401
    assert rows(runtime) == 1
    assert len(slack.calls) == calls


@pytest.fixture
def seen(app):
    """Events that reach a listener (Bolt runs listeners after the ack)."""
    events = []
    app.event("reaction_added")(lambda event: events.append(event["reaction"]))
    return events


def test_retried_and_duplicated_events_are_handled_once(workspace, runtime, slack, seen):
    event = {
        "type": "reaction_added",
        "user": "U0INSPECT",
        "reaction": "eyes",
        "item": {"type": "message", "channel": "G0REVIEW", "ts": "1.000001"},
    }
    body, headers = workspace.requests.event(event, event_id="Ev0DUP")
    assert workspace.post(body, headers).status == 200
    slack.wait_for(lambda s: seen)
    # Slack's retry of the very same request, and the same event in a fresh envelope.
    assert workspace.post(body, {**headers, "X-Slack-Retry-Num": "1"}).status == 200
    assert workspace.event(event, event_id="Ev0DUP", retry=2).status == 200
    assert workspace.event(event, event_id="Ev0DUP").status == 200
    assert workspace.event({**event, "reaction": "tada"}, event_id="Ev0OTHER").status == 200
    slack.wait_for(lambda s: len(seen) >= 2)
    assert seen == ["eyes", "tada"]
    assert rows(runtime, ProcessedEvent) == 2


@pytest.mark.parametrize("flag", ["is_restricted", "is_ultra_restricted"])
def test_guests_are_refused_everything_politely(workspace, runtime, slack, seen, flag):
    slack.users["U0GUEST"] = {flag: True}
    for text in (COMMAND, "help", "list wrexham"):
        # The first is acknowledged at once and refused through its response_url once
        # Slack has said who this is; later ones, already known, are refused in the ack.
        body, headers = workspace.requests.command(text, user="U0GUEST")
        answer = workspace.post(body, headers)
        assert answer.status == 200
        if answer.body:
            reply = json.loads(answer.body)
        else:
            reply = slack.wait_calls("response_url")[0].params
        assert reply["response_type"] == "ephemeral"
        assert "guest accounts cannot use it" in visible(reply["text"])
    assert rows(runtime) == 0
    assert rows(runtime, HistoryEntry) == 0

    # A button: the refusal goes to its response_url, nothing else happens.
    answer = workspace.interact(
        {
            "type": "block_actions",
            "user": {"id": "U0GUEST"},
            "actions": [{"action_id": "draft_approve", "value": "1"}],
            "channel": {"id": "G0REVIEW"},
        }
    )
    assert answer.status == 200
    reply = slack.wait_calls("response_url", 2)[1]
    assert "guest accounts cannot use it" in visible(reply.get("text"))
    # An event by a guest reaches no listener.
    workspace.event(
        {
            "type": "reaction_added",
            "user": "U0GUEST",
            "reaction": "eyes",
            "item": {"type": "message", "channel": "G0REVIEW", "ts": "1.1"},
        }
    )
    assert seen == []
    # users.info is asked once; the answer is remembered briefly.
    assert len(slack.of("users.info")) == 1
    assert {c.method for c in slack.calls} == {"auth.test", "users.info", "response_url"}


def test_full_members_are_looked_up_once_and_served(workspace, runtime, slack):
    workspace.command(COMMAND)
    workspace.command("help")
    assert [c.get("user") for c in slack.of("users.info")] == ["U0INSPECT"]
    assert rows(runtime) == 1


def test_when_slack_cannot_say_who_someone_is_nothing_is_done(workspace, runtime, slack):
    slack.fail("users.info", 500, times=10)
    body, headers = workspace.requests.command(COMMAND, user="U0NEW")
    started = time.monotonic()
    answer = workspace.post(body, headers)
    # Acknowledged at once; the check is made again, with retries, after the ack.
    assert answer.status == 200 and time.monotonic() - started < 1.5
    reply = slack.wait_for(lambda s: s.responses())[0]
    assert "try again in a minute" in visible(reply.get("text"))
    assert rows(runtime) == 0


def test_a_slow_users_info_never_holds_the_ack_and_a_guest_is_still_refused(
    workspace, runtime, slack
):
    slack.users["U0GUEST"] = {"is_restricted": True}
    answer_lookup = threading.Event()  # Slack answers the lookup once the ack has come
    slack.stall("users.info", 30.0, times=1, until=answer_lookup)
    body, headers = workspace.requests.command(COMMAND, user="U0GUEST")
    started = time.monotonic()
    answer = workspace.post(body, headers)
    assert answer.status == 200 and time.monotonic() - started < 1.5
    answer_lookup.set()
    reply = slack.wait_for(lambda s: s.responses(), timeout=15)[0]
    assert "guest accounts cannot use it" in visible(reply.get("text"))
    assert rows(runtime) == 0


def test_malformed_signature_headers_get_401_and_no_call_anywhere(workspace, runtime, slack):
    body, headers = workspace.requests.command(COMMAND)
    for bad in (
        {"X-Slack-Request-Timestamp": "abc"},
        {"X-Slack-Request-Timestamp": ""},
        {"X-Slack-Request-Timestamp": "1e9"},
        {"X-Slack-Request-Timestamp": "12.5"},
        {"X-Slack-Signature": "v0=zz"},
        {"X-Slack-Signature": ""},
    ):
        assert workspace.post(body, {**headers, **bad}).status == 401
    time.sleep(0.3)  # anything sent after the answer would have arrived by now
    assert slack.calls == []
    assert rows(runtime) == 0


def test_a_replay_is_refused_by_a_second_process_too(workspace, runtime, slack, settings, engine):
    from handlers.slack.app import create_app, runtime_of
    from handlers.slack.client import make_client

    body, headers = workspace.requests.command(COMMAND)
    assert workspace.post(body, headers).status == 200
    slack.wait_calls("response_url")
    # A second `serve` on the same database (or this one after a restart).
    other = create_app(settings, client=make_client(settings, timeout=5), engine=engine)
    replies = len(slack.responses())
    try:
        # Acknowledged (its ack writes nothing), then refused by its work: the signature
        # is in the database.
        assert _post_to(other, runtime, body, headers) in (200, 401)
    finally:
        runtime_of(other).shutdown()
    assert rows(runtime) == 1
    assert len(slack.responses()) == replies  # nothing answered either


def _post_to(app, runtime, body, headers) -> int:
    """POST to `app` (another process's Bolt app) as `serve` hands it a signed request."""
    from slack_bolt import BoltRequest

    answer = app.dispatch(
        BoltRequest(body=body.decode(), headers={k.lower(): v for k, v in headers.items()})
    )
    return answer.status


def test_requests_from_another_workspace_are_refused(slack, engine, clock, runtime):
    from bot.settings import Settings
    from handlers.slack.app import create_app, runtime_of
    from handlers.slack.client import make_client
    from handlers.slack.double import SignedRequests
    from tests.conftest import SIGNING_SECRET

    settings = Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=str(engine.url),
        slack_team_id="T0CIW",
    )
    app = create_app(settings, client=make_client(settings, timeout=5), engine=engine, clock=clock)
    try:
        stranger = SignedRequests(SIGNING_SECRET, slack, team_id="T0OTHER")
        for text in (COMMAND, "list wrexham"):
            body, headers = stranger.command(text, user="U0STRANGER")
            assert _post_to(app, runtime, body, headers) == 200
        # Someone of another workspace in a shared channel: users.info names their team.
        slack.users["U0SHARED"] = {"team_id": "T0OTHER"}
        body, headers = SignedRequests(SIGNING_SECRET, slack).command(COMMAND, user="U0SHARED")
        assert _post_to(app, runtime, body, headers) == 200
        # Our own workspace is served.
        body, headers = SignedRequests(SIGNING_SECRET, slack).command(COMMAND)
        assert _post_to(app, runtime, body, headers) == 200
        slack.wait_calls("response_url")
    finally:
        runtime_of(app).shutdown()
    assert rows(runtime) == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "event", "event": {"type": "team_join", "user": {"id": "U0NEW"}}},
        {
            "type": "event",
            "event": {
                "type": "message",
                "channel": "C0GENERAL",
                "user": "U0X",
                "text": "hello",
                "ts": "5.5",
            },
        },
        {
            "type": "interaction",
            "payload": {
                "type": "block_actions",
                "user": {"id": "U0X"},
                "actions": [{"action_id": "no_such_button"}],
            },
        },
        {
            "type": "interaction",
            "payload": {
                "type": "view_submission",
                "user": {"id": "U0X"},
                "view": {
                    "type": "modal",
                    "callback_id": "no_such_form",
                    "id": "V1",
                    "state": {"values": {}},
                },
            },
        },
        {
            "type": "interaction",
            "payload": {
                "type": "shortcut",
                "callback_id": "nothing",
                "user": {"id": "U0X"},
                "trigger_id": "1.t",
            },
        },
    ],
)
def test_validly_signed_payloads_nobody_handles_get_a_quiet_200(workspace, runtime, payload):
    if payload["type"] == "event":
        answer = workspace.event(payload["event"])
    else:
        answer = workspace.interact(payload["payload"])
    assert answer.status == 200
    assert rows(runtime) == 0


def test_another_slash_command_gets_a_quiet_200(workspace, slack):
    body, headers = workspace.requests.command("anything")
    body = body.replace(b"command=%2Fciw", b"command=%2Fother")
    headers = {**headers, **workspace.requests.sign(body)}
    assert workspace.post(body, headers).status == 200
    assert slack.responses() == []


def _get(application, path):
    captured = {}

    def start_response(status, headers, *args):
        captured["status"] = status

    body = b"".join(application({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, start_response))
    return captured["status"], json.loads(body)


def test_healthz_reports_the_database(workspace, app):
    answer = workspace.get("/healthz")
    assert answer.status == 200
    assert json.loads(answer.body)["database"] == "ok"
    # A database nobody answers on (a closed port): 503 and what failed, quickly.
    away = make_engine(
        "postgresql://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 2}
    )
    status, body = _get(wsgi_app(app, away), "/healthz")
    assert status.startswith("503")
    assert body["database"] == "unavailable"
    away.dispose()


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    logging_setup.configure(
        logging.INFO, stream=stream, secrets=["test-signing-secret", "xoxb-test-token"]
    )
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:], _ = saved[0], root.setLevel(saved[1])


def test_logs_are_one_json_line_per_command_without_secrets_or_text(workspace, log_lines):
    workspace.command("log-finding wrexham 2019-20 people strength SECRET-FINDING-TEXT here")
    workspace.command("log-activity wrexam children 2019-09-24 typo")
    commands = [line for line in log_lines() if line["msg"] == "command"]
    assert [(c["command"], c["outcome"]) for c in commands] == [
        ("/ciw log-finding", "ok"),
        ("/ciw log-activity", "refused:unknown_authority"),
    ]
    assert all(isinstance(c["ms"], int | float) for c in commands)
    everything = "\n".join(json.dumps(line) for line in log_lines())
    assert "SECRET-FINDING-TEXT" not in everything
    assert "xoxb-test-token" not in everything
    assert "test-signing-secret" not in everything


def test_the_redaction_filter_masks_tokens_anywhere(log_lines):
    log = logging.getLogger("ciw.test")
    log.info("token %s", "xoxb-123-456-abc", extra={"header": "Bearer xapp-1-A0-xyz"})
    try:
        raise RuntimeError("failed with xoxb-999-secret")
    except RuntimeError:
        log.exception("boom")
    text = json.dumps(log_lines())
    assert "xoxb-123" not in text and "xapp-1-A0" not in text and "xoxb-999" not in text
    assert text.count("[redacted]") >= 3
