"""Nobody further than they belong: guests and Slack Connect kept out of reminders and
drafts, forged form values, the last admin, text that reads otherwise, oversized
comments, someone else's Snooze, App Home for people with no role."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.reminders import clock as ticker
from db.models import Activity, Comment, Draft, Finding, Note, RoleGrant
from handlers.slack.text import visible
from tests.bot.reminders.test_planning import office
from tests.conftest import outbox_settled
from tests.faults.conftest import tally
from tests.handlers.slack.test_draft_letter import post_draft, setup_demo, thread_of
from tests.handlers.slack.test_forms import ACTIVITY, FINDING, open_form, opened_for, state, submit
from tests.handlers.slack.test_reminder_buttons import click


def count(runtime, model) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_reminders_reach_neither_guests_nor_other_workspaces_nor_shared_channels(
    workspace, runtime, slack
):
    slack.users["U0GUEST"] = {"is_restricted": True}
    slack.users["U0ELSE"] = {"team_id": "T0OTHER"}
    slack.channels["G0SHARED"] = {"is_ext_shared": True}
    workspace.command(
        "log-activity wrexham children 2020-04-20T10:00 review <@U0GUEST> <@U0ELSE>",
        channel="G0SHARED",
    )
    ticker.run_once(runtime, office("2020-04-09T09:00"))
    reached = {c.get("channel") for c in slack.of("chat.postMessage")}
    leaked = len(reached & {"U0GUEST", "U0ELSE", "G0SHARED"})
    tally(forged_accepted=leaked)
    assert reached == {"U0INSPECT"}


def test_drafts_are_refused_in_slack_connect_channels(workspace, runtime, slack, clock):
    setup_demo(runtime, clock)
    slack.channels["G0SHARED"] = {"is_ext_shared": True}
    reply = workspace.command("draft-letter wrexham 2019-20", channel="G0SHARED")
    assert "shared with another organisation" in visible(reply.get("text"))
    assert count(runtime, Draft) == 0
    assert slack.of("chat.postMessage") == []


def test_forged_users_in_a_form_are_refused_and_nothing_recorded(workspace, runtime, slack):
    answer = workspace.interact(
        {
            "type": "view_submission",
            "user": {"id": "U0INSPECT", "username": "u0inspect", "team_id": "T0CIW"},
            "view": {
                "id": "V0FORGED",
                "hash": "h",
                "type": "modal",
                "callback_id": "log_activity_form",
                "private_metadata": opened_for(
                    workspace, "log_activity_form", "U0INSPECT", "G0REVIEW"
                ),
                "state": state(**{**ACTIVITY, "inspectors": ["U1><!channel"]}),
            },
        }
    )
    body = json.loads(answer.body)
    assert body["response_action"] == "errors"
    assert "is not a Slack user" in body["errors"]["inspectors"]
    forged = count(runtime, Activity)
    tally(forged_accepted=forged)
    assert forged == 0


def _tampered(answer) -> str:
    body = json.loads(answer.body)
    assert answer.status == 200 and body["response_action"] == "errors", answer
    return " ".join(body["errors"].values())


def test_a_form_names_only_the_channel_it_was_opened_in(workspace, runtime, slack):
    # Opened for real in G0REVIEW; the same private_metadata with another channel is refused.
    opened = json.loads(open_form(workspace, "log-activity")["private_metadata"])
    forged = json.dumps({**opened, "channel_id": "C0GENERAL"})
    answer = submit(workspace, "log_activity_form", metadata=forged, **ACTIVITY)
    assert "could not be checked" in _tampered(answer)
    # Unsigned, as the forms used to be: refused too.
    unsigned = json.dumps({"channel_id": "C0GENERAL"})
    answer = submit(workspace, "log_finding_form", metadata=unsigned, **FINDING)
    assert "could not be checked" in _tampered(answer)
    forged_recorded = count(runtime, Activity) + count(runtime, Finding)
    tally(forged_accepted=forged_recorded)
    assert forged_recorded == 0
    assert all(c.get("channel") != "C0GENERAL" for c in slack.calls if c.get("channel"))
    # The form as opened records, and tells its opener in the channel it was opened in.
    answer = submit(workspace, "log_activity_form", metadata=json.dumps(opened), **ACTIVITY)
    assert answer.status == 200 and answer.body == ""
    with runtime.transaction() as session:
        assert session.scalars(select(Activity.channel_id)).one() == "G0REVIEW"
    assert slack.wait_calls("chat.postEphemeral")[0].get("channel") == "G0REVIEW"


def test_a_form_opened_by_one_person_cannot_be_submitted_as_another(workspace, runtime, slack):
    opened = opened_for(workspace, "log_finding_form", "U0INSPECT", "G0REVIEW")
    answer = submit(workspace, "log_finding_form", user="U0OTHER", metadata=opened, **FINDING)
    assert "could not be checked" in _tampered(answer)
    # Nor re-signed for someone else by editing the person in it.
    claimed = json.dumps({**json.loads(opened), "user_id": "U0OTHER"})
    answer = submit(workspace, "log_finding_form", user="U0OTHER", metadata=claimed, **FINDING)
    assert "could not be checked" in _tampered(answer)
    # A form signed for one form type is not accepted by the other.
    other = opened_for(workspace, "log_activity_form", "U0INSPECT", "G0REVIEW")
    answer = submit(workspace, "log_finding_form", metadata=other, **FINDING)
    assert "could not be checked" in _tampered(answer)
    forged = count(runtime, Finding)
    tally(forged_accepted=forged)
    assert forged == 0
    assert slack.of("chat.postEphemeral") == [] and slack.of("chat.postMessage") == []


def test_the_last_admin_cannot_remove_their_own_role(workspace, runtime):
    workspace.command("role <@U0INSPECT> admin")
    reply = workspace.command("role <@U0INSPECT> none")
    assert "last admin" in visible(reply.get("text"))
    with runtime.transaction() as session:
        assert session.get(RoleGrant, "U0INSPECT").role.value == "admin"
    # With a second admin, they may step down.
    workspace.command("role <@U0OTHER> admin")
    workspace.command("role <@U0INSPECT> none")
    with runtime.transaction() as session:
        assert session.get(RoleGrant, "U0INSPECT") is None


@pytest.mark.parametrize(
    ("command", "model"),
    [
        ("log-finding wrexham 2019-20 prevention improvement adults Delays {} seen", Finding),
        ("note wrexham 2019-20 plan Delays {} seen", Note),
    ],
    ids=["finding", "note"],
)
def test_text_direction_overrides_are_stripped_and_a_nul_byte_is_refused_clearly(
    workspace, runtime, command, model
):
    workspace.command(command.format("\u202egnirts\u202c"))
    with runtime.transaction() as session:
        text = session.scalars(select(model.text)).one()
    assert "\u202e" not in text and "\u202c" not in text and "gnirts" in text
    reply = workspace.command(command.format("\x00"))
    assert "NUL byte" in visible(reply.get("text"))
    assert "not answering" not in reply.get("text")
    assert count(runtime, model) == 1


def test_a_huge_thread_reply_is_capped(workspace, runtime, slack, clock):
    setup_demo(runtime, clock)
    post_draft(workspace, slack)
    workspace.event(
        {
            "type": "message",
            "channel": "G0REVIEW",
            "user": "U0REVIEW",
            # As much as a request may carry (a body over 1 MB is refused before it is read:
            # tests/faults/test_hostile.py), far over Slack's 40,000-character message.
            "text": "x" * 1_000_000,
            "ts": "1700000000.000200",
            "thread_ts": thread_of(runtime),
        }
    )
    slack.wait_calls("reactions.add")
    with runtime.transaction() as session:
        stored = session.scalars(select(func.length(Comment.text))).one()
    assert stored <= 40_000


def test_only_the_reminded_inspector_or_an_admin_can_snooze(workspace, runtime, slack):
    workspace.command("log-activity wrexham children 2020-04-20T10:00 performance review meeting")
    ticker.run_once(runtime, office("2020-04-09T09:00"))
    outbox_settled(runtime)
    post = next(c for c in slack.of("chat.postMessage") if c.get("channel") == "G0REVIEW")
    answer = click(workspace, post, "reminder_snooze", user="U0STRANGER")
    assert "only the inspectors" in visible(answer.get("text"))
    answer = click(workspace, post, "reminder_snooze", user="U0INSPECT")
    assert "only the inspectors" not in visible(answer.get("text"))


def test_app_home_shows_no_records_to_someone_without_a_role(workspace, runtime, slack, clock):
    setup_demo(runtime, clock)
    post_draft(workspace, slack)
    workspace.command("role <@U0INSPECT> admin")  # roles are enforced from now on
    workspace.event({"type": "app_home_opened", "user": "U0NOBODY", "tab": "home"})
    view = slack.wait_calls("views.publish")[0].get("view")
    shown = visible(json.dumps(view))
    assert "Wrexham" not in shown
