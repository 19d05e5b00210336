"""What Slack requests leave in the logs: no typed word, however long, only names the bot
knows, every line within the caps (SPEC "Operating it")."""

from __future__ import annotations

import pytest

from handlers.slack import limits
from handlers.slack.text import visible
from tests.conftest import SIGNING_SECRET
from tests.logs import captured, leaked

PERSONAL = "jane.doe-dob-03/04/2015-nhs-943-476-5919-safeguarding-referral"
FRAGMENTS = ["jane.doe", "03/04/2015", "943-476-5919", "safeguarding", "referral"]


@pytest.fixture
def lines():
    with captured(secrets=[SIGNING_SECRET, "xoxb-test-token"]) as read:
        yield read


def commands(lines):
    return [(line["command"], line["outcome"]) for line in lines if line["msg"] == "command"]


def test_a_first_word_full_of_personal_data_is_logged_as_unknown(workspace, lines):
    reply = workspace.command(f"{PERSONAL} wrexham children")
    assert "don't know" in visible(reply.get("text"))
    workspace.command(f"note {PERSONAL}")
    assert [command for command, _ in commands(lines())] == ["/ciw unknown", "/ciw note"]
    assert commands(lines())[0][1] == "refused:unknown_subcommand"
    assert leaked(lines(), FRAGMENTS) == []
    assert leaked(lines(), ["xoxb-test-token", SIGNING_SECRET]) == []


def test_the_longest_message_slack_sends_leaves_short_lines(workspace, lines):
    # Slack sends at most 40,000 characters of message text; one word of them, then a
    # known subcommand followed by as much.
    word = ("safeguarding-" * (limits.MESSAGE_TEXT // 13 + 1))[: limits.MESSAGE_TEXT]
    workspace.command(word)
    workspace.command(f"help {word}"[: limits.MESSAGE_TEXT])
    logged = lines()  # each line checked against the caps as it is read
    assert [command for command, _ in commands(logged)] == ["/ciw unknown", "/ciw help"]
    assert leaked(logged, FRAGMENTS) == []
    assert max(len(str(line)) for line in logged) < 2_000


def test_other_commands_paths_and_messages_leave_no_typed_text(workspace, lines, slack):
    body, headers = workspace.requests.command(PERSONAL)
    body = body.replace(b"command=%2Fciw", b"command=%2F" + PERSONAL.encode()[:20])
    assert workspace.post(body, {**headers, **workspace.requests.sign(body)}).status == 200
    assert workspace.get(f"/{PERSONAL}").status == 404
    body, headers = workspace.requests.event(
        {
            "type": "message",
            "user": "U0INSPECT",
            "channel": "G0REVIEW",
            "text": PERSONAL,
            "ts": "1.000001",
        }
    )
    retry = {"X-Slack-Retry-Num": PERSONAL}
    assert workspace.post(body, {**headers, **retry}).status == 200
    logged = lines()
    requests = [line for line in logged if line["msg"] == "request"]
    assert {line["path"] for line in requests} == {"/slack/events", "unknown"}
    assert {line.get("retry") for line in requests} <= {None, "unknown"}
    assert leaked(logged, FRAGMENTS) == []
