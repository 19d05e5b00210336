"""Reminder buttons through the real HTTP path: Done, Snooze, open in /ciw list."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.reminders import clock as ticker
from db.models import Activity, ActivityStatus, Delivery
from tests.bot.reminders.test_planning import office


def reminded(workspace, runtime, slack) -> list:
    """Log an activity for Monday 20 April 2020 and let the 9 April reminders go out."""
    reply = workspace.command(
        "log-activity wrexham children 2020-04-20T10:00 performance review meeting <@U0OTHER>"
    )
    assert "A1" in reply.get("text")
    assert ticker.run_once(runtime, office("2020-04-09T09:00")).sent == 3
    return slack.of("chat.postMessage")


def button(post, action_id: str) -> dict:
    actions = next(b for b in post.get("blocks") if b["type"] == "actions")
    element = next(e for e in actions["elements"] if e["action_id"] == action_id)
    return {
        "action_id": action_id,
        "block_id": actions["block_id"],
        "value": element["value"],
        "type": "button",
        "text": element["text"],
        "action_ts": "1586419500.000100",
    }


def click(workspace, post, action_id: str, *, user: str = "U0INSPECT") -> dict:
    """Click a button on a posted reminder; what the bot answered the clicker."""
    before = len(workspace.slack.responses())
    channel = post.get("channel")
    answer = workspace.interact(
        {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": "T0CIW"},
            "channel": {"id": "D" + channel[1:] if channel.startswith("U") else channel},
            "container": {
                "type": "message",
                "message_ts": "1586419200.000001",
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "message": {"type": "message", "ts": "1586419200.000001", "text": post.get("text")},
            "trigger_id": "1.click",
            "actions": [button(post, action_id)],
        }
    )
    assert answer.status == 200
    return workspace.slack.wait_for(lambda s: len(s.responses()) > before and s.responses()[-1])


def dm_to(posts, user: str):
    return next(p for p in posts if p.get("channel") == user)


def test_done_completes_the_activity_and_stops_its_reminders(workspace, runtime, slack, clock):
    posts = reminded(workspace, runtime, slack)
    clock.set("2020-04-09T09:05")
    answer = click(workspace, dm_to(posts, "U0INSPECT"), "reminder_done")
    assert answer.get("response_type") == "ephemeral"
    assert "A1" in answer.get("text") and "completed" in answer.get("text")
    with runtime.transaction() as session:
        assert session.scalar(select(Activity.status)) is ActivityStatus.COMPLETED
    assert ticker.run_once(runtime, office("2020-04-17T09:00")).sent == 0
    # Done twice: told politely, nothing changes.
    again = click(workspace, dm_to(posts, "U0OTHER"), "reminder_done", user="U0OTHER")
    assert "completed, so it cannot be completed" in again.get("text")


def test_snooze_reminds_the_same_conversation_one_working_day_later(
    workspace, runtime, slack, clock
):
    posts = reminded(workspace, runtime, slack)
    clock.set("2020-04-09T09:05")  # Thursday before Easter
    answer = click(workspace, dm_to(posts, "U0INSPECT"), "reminder_snooze")
    # Good Friday and Easter Monday are not working days: Tuesday 14 April.
    assert "14 April 2020 at 09:00" in answer.get("text")
    slack.clear()
    assert ticker.run_once(runtime, office("2020-04-14T08:59")).sent == 0
    assert ticker.run_once(runtime, office("2020-04-14T09:00")).sent == 1
    snoozed = slack.of("chat.postMessage")[0]
    assert snoozed.get("channel") == "U0INSPECT"
    assert "A1 starts in 4 working days" in snoozed.get("text")
    # The 17 April reminders still go to everyone.
    assert ticker.run_once(runtime, office("2020-04-17T09:00")).sent == 3


def test_snooze_of_the_last_reminder_is_refused_when_too_late(workspace, runtime, slack, clock):
    reminded(workspace, runtime, slack)
    assert ticker.run_once(runtime, office("2020-04-17T09:00")).sent == 3
    last = slack.of("chat.postMessage")[-1]
    clock.set("2020-04-20T09:30")  # the day itself: snoozing would remind after it started
    answer = click(workspace, last, "reminder_snooze")
    assert "nothing to snooze" in answer.get("text")
    with runtime.transaction() as session:
        assert session.scalar(select(Delivery.id).where(Delivery.key.like("snooze:%"))) is None


def test_open_in_list_answers_with_the_year_of_that_authority(workspace, runtime, slack, clock):
    posts = reminded(workspace, runtime, slack)
    channel_post = next(p for p in posts if p.get("channel") == "G0REVIEW")
    answer = click(workspace, channel_post, "reminder_list")
    assert answer.get("response_type") == "ephemeral"
    text = answer.get("text")
    assert "review year 2020-21" in text
    assert "A1" in text and "performance review meeting" in text


def test_a_tampered_button_value_is_answered_not_crashed(workspace, runtime, slack):
    posts = reminded(workspace, runtime, slack)
    post = dm_to(posts, "U0INSPECT")
    actions = next(b for b in post.get("blocks") if b["type"] == "actions")
    actions["elements"][0]["value"] = json.dumps({"a": 999, "d": 1})
    answer = click(workspace, post, "reminder_done")
    assert "There is no A999" in answer.get("text")
