"""`ciw-bot serve` as an operator runs it, for each configuration: Slack only,
Slack and Teams on one uvicorn port, Teams only, and nothing configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.slack.double import FakeSlack, SignedRequests
from tests.handlers.teams.double import FakeTeams, Signer, fake_teams
from tests.serving import ServeProcess

PROGRAM = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[2]
SECRET = "serve-secret"


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CIW_", "TEAMS_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    return env


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    double = FakeSlack().start()
    yield double
    double.stop()
    assert not double.refusals, "\n".join(str(r) for r in double.refusals)


@pytest.fixture
def cloud() -> Iterator[FakeTeams]:
    with fake_teams(tls=True) as double:
        yield double
        assert not double.refusals, "\n".join(str(r) for r in double.refusals)


def slack_env(slack: FakeSlack) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-serve",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
    }


def teams_env(cloud: FakeTeams) -> dict[str, str]:
    assert cloud.ca_file
    return {
        "TEAMS_APP_ID": cloud.app_id,
        "TEAMS_APP_PASSWORD": cloud.app_password,
        "TEAMS_TENANT_ID": cloud.tenant_id,
        "TEAMS_OPENID_METADATA_URL": cloud.openid_metadata_url,
        "TEAMS_LOGIN_URL": cloud.login_url,
        "SSL_CERT_FILE": cloud.ca_file,
        "REQUESTS_CA_BUNDLE": cloud.ca_file,
    }


class Serve(ServeProcess):
    """A `ciw-bot serve` process on a free loopback port (`tests.serving`), with the
    requests these tests send it."""

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def activity(self, cloud: FakeTeams, text: str, token: str) -> int:
        person = cloud.add_user("aad-ann", "Ann Inspector")
        body = json.dumps(cloud.message_activity(text, person)).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        return self.post("/api/messages", body, headers)[0]

    def slack_help(self, slack: FakeSlack) -> tuple[int, str]:
        body, headers = SignedRequests(SECRET, slack).command("help")
        status, _ = self.post("/slack/events", body, headers)
        if status != 200:
            return status, ""
        return status, slack.wait_for(lambda s: s.responses())[0].get("text")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    started: list[Serve] = []

    def start(env: dict[str, str]) -> Serve:
        served = Serve(env, tmp_path / f"serve-{len(started)}.log")
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def get_status(url: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as a:
            return a.status
    except urllib.error.HTTPError as error:
        return error.code


def serving_line(served: Serve) -> dict:
    return next(line for line in served.lines() if line.get("msg") == "serving")


def frozen(served: Serve) -> int:
    """How many objects `serve` froze at start (`handlers.serve.tune_garbage_collector`),
    its full collections made rarer."""
    line = next(line for line in served.lines() if line.get("msg") == "garbage collector tuned")
    assert line["full_threshold"] == 100
    return line["frozen"]


def forged(cloud: FakeTeams) -> str:
    # Signed by a key the cloud never published.
    return cloud.inbound_token(signer=Signer())


def test_nothing_configured_is_one_line_naming_what_to_set(base_env):
    result = subprocess.run(
        [*PROGRAM, "serve", "--port", "1"], env=base_env, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SLACK_BOT_TOKEN" in lines[0] and "SLACK_SIGNING_SECRET" in lines[0]
    assert "TEAMS_APP_ID" in lines[0]


def test_slack_only_is_the_same_server(base_env, slack, serve):
    served = serve({**base_env, **slack_env(slack)})
    assert served.health == (200, {"status": "ok", "database": "ok"})
    status, reply = served.slack_help(slack)
    assert status == 200 and "log-activity" in reply
    assert served.post("/api/messages", b"{}", {"Content-Type": "application/json"})[0] == 404
    # No CIW_METRICS_TOKEN: no metrics, whatever is borne.
    assert get_status(f"{served.url}/metrics", {"Authorization": "Bearer "}) == 404
    assert serving_line(served)["server"] == "uvicorn"
    assert serving_line(served)["platforms"] == "slack"
    assert frozen(served) > 10_000  # what was built at start, out of the collector's way


def test_slack_and_teams_on_one_port(base_env, slack, cloud, serve):
    served = serve({**base_env, **slack_env(slack), **teams_env(cloud)})
    assert served.health == (200, {"status": "ok", "database": "ok"})
    status, reply = served.slack_help(slack)
    assert status == 200 and "log-activity" in reply
    assert served.activity(cloud, "help", cloud.inbound_token()) == 200
    assert served.activity(cloud, "help", forged(cloud)) == 401
    # Slack's own route beside the Teams app is as strict as alone: unsigned is 401, a
    # replay is refused, a signed body Bolt cannot read is 400 (never a 500).
    signer = SignedRequests(SECRET, slack)
    body, headers = signer.command("help", user="U0SECOND")  # not slack_help's request again
    unsigned = {"Content-Type": headers["Content-Type"]}
    assert served.post("/slack/events", body, unsigned)[0] == 401
    assert served.post("/slack/events", body, headers)[0] == 200
    slack.wait_for(lambda s: len(s.responses()) == 2)
    assert served.post("/slack/events", body, headers)[0] == 401
    malformed = {"Content-Type": "application/json", **signer.sign(b"[1, 2]")}
    assert served.post("/slack/events", b"[1, 2]", malformed)[0] == 400
    line = serving_line(served)
    assert (line["server"], line["platforms"]) == ("uvicorn", "slack+teams")
    assert frozen(served) > 10_000  # after the Teams App's start
    requests = [r for r in served.lines() if r.get("msg") == "request"]
    assert any(r.get("path") == "/api/messages" and r.get("status") == "401" for r in requests)
    assert any(r.get("path") == "/slack/events" and r.get("status") == "200" for r in requests)
    # No framework pages beside the bot's own routes.
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{served.url}/docs", timeout=5)
    assert missing.value.code == 404


def test_teams_only_keeps_health_and_feeds_without_slack(base_env, cloud, serve):
    served = serve({**base_env, **teams_env(cloud)})
    assert served.health == (200, {"status": "ok", "database": "ok"})
    assert served.activity(cloud, "help", cloud.inbound_token()) == 200
    assert served.activity(cloud, "help", forged(cloud)) == 401
    assert served.post("/slack/events", b"command=/ciw", {})[0] == 404
    with pytest.raises(urllib.error.HTTPError) as unknown:
        urllib.request.urlopen(f"{served.url}/calendar/{'x' * 43}.ics", timeout=5)
    assert unknown.value.code == 404
    line = serving_line(served)
    assert (line["server"], line["platforms"]) == ("uvicorn", "teams")
    # The signed `help` was answered in Ann's personal chat, through the Bot Connector (who
    # she is asked first); the forged one was not.
    chat = "a:personal-aad-ann"
    deadline = time.monotonic() + 15
    while not cloud.posted(chat) and time.monotonic() < deadline:
        time.sleep(0.05)
    (answer,) = cloud.posted(chat)
    assert "log-activity" in json.dumps(answer["attachments"][0]["content"])
    asked = {c.path.split("/")[4] for c in cloud.calls if c.path.startswith("/v3/")}
    assert asked == {"members", "activities"}
