"""Moves announced at once through the real HTTP path: /ciw reschedule, postpone, cancel."""

from __future__ import annotations

from bot.reminders import clock as ticker
from tests.bot.reminders.test_planning import office


def logged(workspace) -> None:
    reply = workspace.command(
        "log-activity wrexham children 2020-04-20T10:00 performance review meeting <@U0OTHER>"
    )
    assert "A1" in reply.get("text")


def conversations(calls) -> list[str]:
    return sorted(c.get("channel") for c in calls)


def test_reschedule_is_announced_at_once_to_the_same_people(workspace, runtime, slack):
    logged(workspace)
    workspace.command("reschedule A1 2020-04-27T10:00 | director unavailable")
    posts = slack.wait_calls("chat.postMessage", 3)
    assert conversations(posts) == ["G0REVIEW", "U0INSPECT", "U0OTHER"]
    text = posts[0].get("text")
    assert "A1 rescheduled" in text
    assert "Mon 20 Apr 2020 10:00" in text and "Mon 27 Apr 2020 10:00" in text
    assert "director unavailable" in text and "<@U0INSPECT>" in text
    # Reminders follow the new date.
    assert ticker.run_once(runtime, office("2020-04-09T09:00")).sent == 0
    assert ticker.run_once(runtime, office("2020-04-20T09:00")).sent == 3


def test_postpone_and_cancel_are_announced_and_reminders_stop(workspace, runtime, slack):
    logged(workspace)
    workspace.command("postpone A1 | COVID-19 restrictions")
    postponed = slack.wait_calls("chat.postMessage", 3)
    assert all(
        "A1 postponed" in c.get("text") and "COVID-19 restrictions" in c.get("text")
        for c in postponed
    )
    workspace.command("cancel A1 | not needed this year")
    posts = slack.wait_calls("chat.postMessage", 6)
    assert all("A1 cancelled" in c.get("text") for c in posts[3:])
    assert ticker.run_once(runtime, office("2020-04-17T09:00")).sent == 0
    assert ticker.run_once(runtime, office("2020-06-01T09:00")).sent == 0


def test_reason_is_escaped_in_announcements(workspace, slack):
    logged(workspace)
    workspace.command("postpone A1 | tell <!channel> and @here and <@U0BOSS>")
    posts = slack.wait_calls("chat.postMessage", 3)
    for post in posts:
        text = post.get("text")
        assert "<!channel>" not in text and "<@U0BOSS>" not in text
        assert "@here" not in text or "<!here>" not in text
        for block in post.get("blocks"):
            assert "<!channel>" not in block["text"]["text"]


def test_refused_move_announces_nothing(workspace, slack):
    logged(workspace)
    reply = workspace.command("complete A1")
    assert "completed" in reply.get("text")
    reply = workspace.command("cancel A1 | too late")
    assert "cannot be cancelled" in reply.get("text")
    assert slack.of("chat.postMessage") == []
