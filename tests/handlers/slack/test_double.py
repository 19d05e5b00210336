"""The fake Slack refuses what real Slack refuses, and answers as Slack answers."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.slack import limits as slack_limits
from handlers.slack.double import FakeSlack


@pytest.fixture
def fake():
    double = FakeSlack().start()
    yield double
    double.stop()


def client(fake: FakeSlack) -> WebClient:
    # No retry handlers: the test sees Slack's first answer.
    return WebClient(token="xoxb-t", base_url=fake.api_url, timeout=5)


def error_of(call) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def modal(blocks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    view = {
        "type": "modal",
        "callback_id": "f",
        "title": {"type": "plain_text", "text": "Log a finding"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": blocks,
    }
    view.update(extra)
    return view


def text_input(**element: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": "text",
        "label": {"type": "plain_text", "text": "Finding"},
        "element": {"type": "plain_text_input", "action_id": "v", **element},
    }


def test_a_message_within_every_limit_is_posted(fake):
    answer = client(fake).chat_postMessage(
        channel="G1",
        text="Hi <@U1>, see <https://example.org/a_b|the page> &amp; <#C1>",
        blocks=[section("x" * 3000)] * 1 + [{"type": "divider"}] * 49,
    )
    assert answer["ok"] and not fake.refusals


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"text": "t", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        ({"text": "t", "blocks": [section("x" * 3001)]}, "invalid_blocks"),
        ({}, "no_text"),
        ({"text": "use /ciw list <authority>"}, "invalid_arguments"),
        ({"text": "R&D"}, "invalid_arguments"),
        ({"text": "a draft in <#D0123>"}, "invalid_arguments"),
        ({"text": "t", "blocks": [section("a <b> c")]}, "invalid_blocks"),
        (
            {
                "text": "t",
                "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            },
            "invalid_blocks",
        ),
        (
            {
                "text": "t",
                "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            },
            "invalid_blocks",
        ),
        (
            {
                "text": "t",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "action_id": "b",
                                "text": {"type": "plain_text", "text": "b" * 76},
                                "value": "v" * 2001,
                            }
                        ],
                    }
                ],
            },
            "invalid_blocks",
        ),
        ({"text": "t", "blocks": [dict(section("a"), block_id="x")] * 2}, "invalid_blocks"),
        ({"text": "t", "blocks": [dict(section("a"), block_id="x" * 256)]}, "invalid_blocks"),
    ],
)
def test_a_message_beyond_a_limit_is_refused_as_slack_refuses_it(fake, kwargs, error):
    answer = error_of(lambda: client(fake).chat_postMessage(channel="G1", **kwargs))
    assert answer.status_code == 200  # Slack says no in the body, not the status
    assert answer["ok"] is False and answer["error"] == error
    assert answer["response_metadata"]["messages"][0].startswith("[ERROR]")
    assert [r.method for r in fake.expect_refusals()] == ["chat.postMessage"]
    assert fake.of("chat.postMessage") == []


@pytest.mark.parametrize(
    "view",
    [
        modal([text_input(max_length=4000)]),
        modal([text_input(min_length=-1)]),
        modal([section("s")] * 101),
        modal([text_input()], title={"type": "plain_text", "text": "t" * 25}),
        modal([text_input()], submit={"type": "plain_text", "text": "s" * 25}),
        modal([text_input()], close={"type": "plain_text", "text": "c" * 25}),
        modal([text_input()], private_metadata="m" * 3001),
        modal([text_input()], callback_id="c" * 256),
        modal(
            [
                {
                    "type": "input",
                    "block_id": "x",
                    "label": {"type": "plain_text", "text": "l" * 2001},
                    "element": {"type": "plain_text_input", "action_id": "v"},
                }
            ]
        ),
        modal(
            [
                {
                    "type": "input",
                    "block_id": "s",
                    "label": {"type": "plain_text", "text": "Pick"},
                    "element": {
                        "type": "static_select",
                        "action_id": "v",
                        "options": [
                            {"text": {"type": "plain_text", "text": str(i)}, "value": str(i)}
                            for i in range(101)
                        ],
                    },
                }
            ]
        ),
        modal(
            [
                {
                    "type": "input",
                    "block_id": "s",
                    "label": {"type": "plain_text", "text": "Pick"},
                    "element": {
                        "type": "static_select",
                        "action_id": "v",
                        "options": [
                            {"text": {"type": "plain_text", "text": "o" * 76}, "value": "v"},
                            {"text": {"type": "plain_text", "text": "o"}, "value": "v" * 151},
                        ],
                    },
                }
            ]
        ),
        {k: v for k, v in modal([text_input()]).items() if k != "submit"},
    ],
)
def test_a_modal_beyond_a_limit_does_not_open(fake, view):
    answer = error_of(lambda: client(fake).views_open(trigger_id="1.t", view=view))
    assert answer["error"] == "invalid_arguments"
    assert "json-pointer:/view" in answer["response_metadata"]["messages"][0]
    assert fake.expect_refusals() and fake.of("views.open") == []


def test_a_home_tab_holds_100_blocks_and_no_more(fake):
    home = {"type": "home", "blocks": [section("s")] * 100}
    assert client(fake).views_publish(user_id="U1", view=home)["ok"]
    home["blocks"].append(section("one too many"))
    answer = error_of(lambda: client(fake).views_publish(user_id="U1", view=home))
    assert answer["error"] == "invalid_arguments"
    fake.expect_refusals()


def test_posts_to_one_channel_are_held_to_about_one_a_second_after_a_burst(fake):
    now = [time.monotonic()]
    fake.clock = lambda: now[0]  # the fake's rate limits measured on a clock the test moves
    fake.post_burst, fake.post_rate = 3, 1.0
    web = client(fake)
    for n in range(3):
        web.chat_postMessage(channel="G1", text=f"burst {n}")
    answer = error_of(lambda: web.chat_postMessage(channel="G1", text="one too many"))
    assert answer.status_code == 429 and answer["error"] == "ratelimited"
    assert answer.headers["Retry-After"] == "1"
    # Another channel has its own allowance; the first one's refills at one a second.
    assert web.chat_postMessage(channel="G2", text="elsewhere")["ok"]
    now[0] += 0.95
    assert error_of(lambda: web.chat_postMessage(channel="G1", text="too soon")).status_code == 429
    now[0] += 0.1
    assert web.chat_postMessage(channel="G1", text="a second later")["ok"]
    assert [c.get("text") for c in fake.rate_limited] == ["one too many", "too soon"]
    assert not fake.refusals  # a 429 is Slack's pacing, not a refusal


def test_a_channel_the_bot_is_not_in(fake):
    fake.channels["C9"] = {"is_member": False}
    fake.channels["G9"] = {"is_member": False}
    web = client(fake)
    assert "chat:write.public" in fake.scopes  # from manifest.yml
    assert web.chat_postMessage(channel="C9", text="public: allowed by chat:write.public")["ok"]
    assert error_of(lambda: web.chat_postMessage(channel="G9", text="x"))["error"] == (
        "channel_not_found"
    )
    fake.expect_refusals()
    fake.scopes = frozenset({"chat:write"})
    assert error_of(lambda: web.chat_postMessage(channel="C9", text="x"))["error"] == (
        "not_in_channel"
    )
    fake.expect_refusals()


def test_updates_reactions_and_uploads_need_what_exists(fake):
    web = client(fake)
    posted = web.chat_postMessage(channel="G1", text="parent")
    assert web.chat_update(channel="G1", ts=posted["ts"], text="edited")["ok"]
    assert error_of(lambda: web.chat_update(channel="G1", ts="1.2", text="x"))["error"] == (
        "message_not_found"
    )
    assert web.reactions_add(channel="G1", timestamp=posted["ts"], name="memo")["ok"]
    assert error_of(lambda: web.reactions_add(channel="G1", timestamp=posted["ts"], name="memo"))[
        "error"
    ] == ("already_reacted")
    bad = [{"id": "F404"}]
    assert error_of(lambda: web.files_completeUploadExternal(files=bad))["error"] == (
        "file_not_found"
    )
    fake.expect_refusals()


def post_json(url: str, payload: dict[str, Any]) -> tuple[int, str]:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_response_url_takes_five_valid_messages(fake):
    url = fake.response_url("r1")
    assert post_json(url, {"text": "a <b>"}) == (400, "invalid_arguments")
    assert post_json(url, {"text": "x" * 40_001}) == (400, "msg_too_long")
    for n in range(3):
        assert post_json(url, {"text": f"reply {n}"}) == (200, "ok")
    assert post_json(url, {"text": "sixth"})[0] == 404
    assert len(fake.expect_refusals()) == 3


def test_the_checker_reads_recorded_payloads_and_mrkdwn():
    assert slack_limits.check("chat.postMessage", {"channel": "G1", "text": "ok"}) == []
    assert slack_limits.mrkdwn_problems("&lt;authority&gt; <!here> <@U1|al>\n> a quote") == []
    assert slack_limits.mrkdwn_problems("a -> b")
    assert slack_limits.mrkdwn_problems("Q&A")


def test_a_trigger_opens_one_view_within_three_seconds(fake, monkeypatch):
    from handlers.slack import double as slack_double

    web = client(fake)
    view = modal([text_input(max_length=3000)])
    fake.issue_trigger("1.fresh")
    assert web.views_open(trigger_id="1.fresh", view=view)["ok"]
    assert error_of(lambda: web.views_open(trigger_id="1.fresh", view=view))["error"] == (
        "exchanged_trigger_id"
    )
    monkeypatch.setattr(slack_double, "TRIGGER_SECONDS", 0.05)
    fake.issue_trigger("2.late")
    time.sleep(0.1)
    assert error_of(lambda: web.views_open(trigger_id="2.late", view=view))["error"] == (
        "expired_trigger_id"
    )
    fake.expect_refusals()


def test_other_methods_are_held_to_their_tier(fake, monkeypatch):
    from handlers.slack import double as slack_double

    monkeypatch.setitem(slack_double.METHOD_TIERS, "reactions.add", 3)
    web = client(fake)
    posted = web.chat_postMessage(channel="G1", text="parent")
    for name in ("a", "b", "c"):
        web.reactions_add(channel="G1", timestamp=posted["ts"], name=name)
    answer = error_of(lambda: web.reactions_add(channel="G1", timestamp=posted["ts"], name="d"))
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) >= 1
