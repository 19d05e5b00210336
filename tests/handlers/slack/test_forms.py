"""The two record forms: opened by the bare commands, submitted as Slack submits modals."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from db.models import Activity, ActivityStatus, Finding, FindingKind, Principle, Service
from handlers.slack.text import visible
from handlers.slack.views import form_kit

LINE = (
    "focused activity in children's services, 24 and 25 September 2019 to review selected "
    "files and records"
)


def open_form(workspace, typed: str) -> dict[str, Any]:
    """Type the bare command; the view the bot opened."""
    workspace.command(typed, wait=False)
    call = workspace.slack.wait_calls("views.open")[-1]
    assert call.get("trigger_id", "").endswith(".trigger")
    view = call.get("view")
    return json.loads(view) if isinstance(view, str) else view


def element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b["block_id"] == block_id)["element"]


def state(**fields: Any) -> dict[str, Any]:
    """view.state.values as Slack sends them, from block_id=value pairs."""
    kinds = {
        "authority": "static_select",
        "service": "static_select",
        "year": "static_select",
        "principle": "static_select",
        "kind": "static_select",
        "start": "datepicker",
        "end": "datepicker",
        "time": "timepicker",
        "inspectors": "multi_users_select",
    }
    values: dict[str, Any] = {}
    for block_id, value in fields.items():
        kind = kinds.get(block_id, "plain_text_input")
        if kind == "static_select":
            item = {
                "selected_option": {
                    "value": value,
                    "text": {"type": "plain_text", "text": str(value)},
                }
                if value
                else None
            }
        elif kind == "datepicker":
            item = {"selected_date": value}
        elif kind == "timepicker":
            item = {"selected_time": value}
        elif kind == "multi_users_select":
            item = {"selected_users": value or []}
        else:
            item = {"value": value}
        values[block_id] = {"value": {"type": kind, **item}}
    return {"values": values}


def opened_for(workspace, callback_id: str, user: str, channel: str | None) -> str:
    """The private_metadata the bot gives a form it opens for `user` in `channel`."""
    return json.dumps(
        form_kit.opened_in(workspace.runtime, callback_id, user_id=user, channel_id=channel)
    )


def submit(
    workspace,
    callback_id: str,
    *,
    user: str = "U0INSPECT",
    channel: str | None = "G0REVIEW",
    metadata: str | None = None,
    **fields: Any,
):
    """Submit a form opened by `user` in `channel` (or with this private_metadata); the HTTP
    answer (an ack body when there are field errors)."""
    payload = {
        "type": "view_submission",
        "user": {"id": user, "username": user.lower(), "team_id": "T0CIW"},
        "trigger_id": "9.trigger",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": metadata or opened_for(workspace, callback_id, user, channel),
            "state": state(**fields),
        },
    }
    return workspace.interact(payload)


def field_errors(answer) -> dict[str, str]:
    assert answer.status == 200, answer
    body = json.loads(answer.body)
    assert body["response_action"] == "errors"
    return body["errors"]


def count(runtime, model) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


ACTIVITY = {
    "authority": "wrexham",
    "service": "children",
    "start": "2019-09-24",
    "end": "2019-09-25",
    "title": "focused activity in children's services",
    "details": "to review selected files and records",
}
FINDING = {
    "authority": "wrexham",
    "year": "2019-20",
    "principle": "prevention",
    "kind": "improvement",
    "service": "adults",
    "text": "The CMHT inspection identified delays in responding to people.",
}


# -- the activity form -----------------------------------------------------------------------


def test_bare_log_activity_opens_the_activity_form(workspace):
    view = open_form(workspace, "log-activity")
    assert view["type"] == "modal" and view["callback_id"] == "log_activity_form"
    metadata = json.loads(view["private_metadata"])
    assert (metadata["channel_id"], metadata["user_id"]) == ("G0REVIEW", "U0INSPECT")
    assert len(metadata["sig"]) == 64
    authorities = element(view, "authority")
    assert authorities["type"] == "static_select" and len(authorities["options"]) == 22
    assert {
        "text": {"type": "plain_text", "text": "Wrexham County Borough Council", "emoji": True},
        "value": "wrexham",
    } in authorities["options"]
    assert [o["value"] for o in element(view, "service")["options"]] == [
        "children",
        "adults",
        "both",
    ]
    assert element(view, "start")["type"] == "datepicker"
    assert element(view, "end")["type"] == "datepicker"
    assert element(view, "time")["type"] == "timepicker"
    assert element(view, "inspectors")["type"] == "multi_users_select"
    optional = {b["block_id"] for b in view["blocks"] if b["optional"]}
    assert optional == {"end", "time", "details", "inspectors"}
    assert not workspace.slack.responses()  # the form is the answer


def test_activity_form_records_what_the_command_records(workspace, runtime):
    answer = submit(workspace, "log_activity_form", inspectors=["U0ALEX"], **ACTIVITY)
    assert answer.status == 200 and answer.body == ""
    posted = workspace.slack.wait_calls("chat.postEphemeral")[0]
    assert (posted.get("channel"), posted.get("user")) == ("G0REVIEW", "U0INSPECT")
    text = visible(posted.get("text"))
    assert "A1" in text and LINE in text
    # The same command typed records the same thing.
    typed = workspace.command(
        "log-activity wrexham children 2019-09-24..2019-09-25 focused activity in children's "
        "services | to review selected files and records <@U0ALEX|alex>"
    )
    assert visible(typed.get("text")).replace("A2", "A1") == text
    with runtime.transaction() as session:
        form, command = session.scalars(select(Activity).order_by(Activity.id)).all()
        for attr in [
            "service",
            "title",
            "details",
            "start_date",
            "end_date",
            "start_time",
            "status",
            "channel_id",
            "logged_by",
            "inspector_ids",
        ]:
            assert getattr(form, attr) == getattr(command, attr), attr
        assert form.status is ActivityStatus.COMPLETED
        assert form.inspector_ids == ["U0ALEX", "U0INSPECT"]


def test_activity_form_with_a_time_and_no_end(workspace, runtime):
    answer = submit(
        workspace,
        "log_activity_form",
        authority="rhondda-cynon-taf",
        service="both",
        start="2020-04-20",
        time="10:00",
        title="Cyfarfod â'r Cyfarwyddwr — gwasanaethau plant",
    )
    assert answer.status == 200
    text = visible(workspace.slack.wait_calls("chat.postEphemeral")[0].get("text"))
    assert "scheduled" in text
    assert "Cyfarfod â'r Cyfarwyddwr — gwasanaethau plant, 20 April 2020" in text
    with runtime.transaction() as session:
        activity = session.scalars(select(Activity)).one()
        assert (activity.start_date, activity.end_date) == (
            activity.start_date,
            activity.start_date,
        )
        assert activity.start_time.hour == 10 and activity.service is Service.BOTH


def test_activity_form_field_errors_record_nothing(workspace, runtime):
    errors = field_errors(
        submit(
            workspace,
            "log_activity_form",
            **{**ACTIVITY, "start": "2019-09-25", "end": "2019-09-24"},
        )
    )
    assert list(errors) == ["end"]
    assert "before the start" in errors["end"] and "`" not in errors["end"]
    errors = field_errors(
        submit(
            workspace,
            "log_activity_form",
            **{**ACTIVITY, "title": "   ", "service": None, "authority": "wrexam"},
        )
    )
    assert set(errors) == {"title", "service"}
    errors = field_errors(
        submit(workspace, "log_activity_form", **{**ACTIVITY, "authority": "wrexam"})
    )
    assert "wrexham" in errors["authority"]
    errors = field_errors(
        submit(workspace, "log_activity_form", **{**ACTIVITY, "details": "d" * 3001})
    )
    assert list(errors) == ["details"] and "3000" in errors["details"]
    errors = field_errors(
        submit(workspace, "log_activity_form", **{**ACTIVITY, "start": "2019-02-30", "end": None})
    )
    assert list(errors) == ["start"]
    errors = field_errors(submit(workspace, "log_activity_form", **{**ACTIVITY, "start": None}))
    assert list(errors) == ["start"]
    assert count(runtime, Activity) == 0
    assert not workspace.slack.of("chat.postEphemeral")


def test_activity_form_without_a_channel_confirms_by_dm(workspace):
    submit(workspace, "log_activity_form", channel=None, **ACTIVITY)
    posted = workspace.slack.wait_calls("chat.postMessage")[0]
    assert posted.get("channel") == "U0INSPECT"
    assert LINE in visible(posted.get("text"))


def test_confirmation_falls_back_to_dm_where_the_bot_cannot_post(workspace):
    workspace.slack.fail("chat.postEphemeral", 200, body={"ok": False, "error": "not_in_channel"})
    submit(workspace, "log_activity_form", **ACTIVITY)
    posted = workspace.slack.wait_calls("chat.postMessage")[0]
    assert posted.get("channel") == "U0INSPECT" and "A1" in posted.get("text")


def test_activity_form_text_is_escaped_in_the_confirmation(workspace):
    submit(
        workspace, "log_activity_form", **{**ACTIVITY, "title": "<!channel> <@U123> @here review"}
    )
    raw = workspace.slack.wait_calls("chat.postEphemeral")[0].get("text")
    for danger in ["<!channel>", "<@U123>", "@here"]:
        assert danger not in raw
    assert "<!channel> <@U123> @here review" in visible(raw)


# -- the finding form ------------------------------------------------------------------------


def test_bare_log_finding_opens_the_finding_form(workspace):
    view = open_form(workspace, "log-finding")
    assert view["callback_id"] == "log_finding_form"
    assert len(element(view, "authority")["options"]) == 22
    years = [o["value"] for o in element(view, "year")["options"]]
    assert "2019-20" in years and "2020-21" in years and "2015-16" in years
    assert [o["value"] for o in element(view, "principle")["options"]] == [
        "well-being",
        "people",
        "prevention",
        "partnerships",
    ]
    assert [o["value"] for o in element(view, "kind")["options"]] == ["strength", "improvement"]
    assert element(view, "text")["multiline"] is True
    optional = {b["block_id"] for b in view["blocks"] if b["optional"]}
    assert optional == {"year", "service", "activity"}


def test_finding_form_records_what_the_command_records(workspace, runtime):
    workspace.command("log-activity wrexham adults 2019-10-15..2019-10-16 inspection of CMHT")
    assert submit(workspace, "log_finding_form", activity="#a1", **FINDING).status == 200
    text = visible(workspace.slack.wait_calls("chat.postEphemeral")[0].get("text"))
    assert "F1" in text and "from A1" in text and FINDING["text"] in text
    typed = workspace.command(
        "log-finding wrexham 2019-20 prevention improvement adults A1 " + FINDING["text"]
    )
    assert visible(typed.get("text")).replace("F2", "F1") == text
    with runtime.transaction() as session:
        form, command = session.scalars(select(Finding).order_by(Finding.id)).all()
        for attr in [
            "review_year",
            "principle",
            "kind",
            "service",
            "activity_id",
            "text",
            "created_by",
            "authority_id",
        ]:
            assert getattr(form, attr) == getattr(command, attr), attr
        assert (form.principle, form.kind) == (Principle.PREVENTION, FindingKind.IMPROVEMENT)


def test_finding_form_year_defaults_like_the_command(workspace, runtime):
    submit(workspace, "log_finding_form", **{**FINDING, "year": None, "service": None})
    workspace.slack.wait_calls("chat.postEphemeral")
    with runtime.transaction() as session:
        finding = session.scalars(select(Finding)).one()
        assert (finding.review_year, finding.service) == (2019, None)


def test_finding_form_field_errors_record_nothing(workspace, runtime):
    workspace.command("log-activity cardiff adults 2019-04-10 meeting")
    cases = [
        ({"text": "  "}, {"text"}),
        ({"text": "x" * 4001}, {"text"}),
        ({"activity": "B7"}, {"activity"}),
        ({"activity": "A99"}, {"activity"}),
        ({"activity": "A1"}, {"activity"}),  # another authority's activity
        ({"principle": None, "kind": None}, {"principle", "kind"}),
        ({"year": "2019-21"}, {"year"}),
        ({"authority": "nowhere"}, {"authority"}),
    ]
    for change, blocks in cases:
        errors = field_errors(submit(workspace, "log_finding_form", **{**FINDING, **change}))
        assert set(errors) == blocks, (change, errors)
    assert "A1" in errors.get("activity", "A1")
    assert count(runtime, Finding) == 0
    assert not workspace.slack.of("chat.postEphemeral")
