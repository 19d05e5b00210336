"""Reminder buttons: Done (completes the activity), Snooze (1 working day), open in `/ciw list`.

Each button's value is `{"a": <activity id>, "d": <delivery id>}`: the delivery tells
Snooze which conversation to remind again. Answers go to the person who clicked only.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.access import roles
from bot.errors import UserError
from bot.records import activities
from bot.records.dates import ReviewYear
from bot.reminders import planning
from bot.runtime import Runtime
from db.models import Delivery, Role
from handlers.commands import list_records
from handlers.commands.base import Command
from handlers.slack import permissions
from handlers.slack import text as slack_text
from handlers.slack.commands import SlackSurface, render


def register(app: App) -> None:
    """Listen for the three reminder buttons."""
    app.action("reminder_done")(on_done)
    app.action("reminder_snooze")(on_snooze)
    app.action("reminder_list")(on_list)


def _parse(body: dict[str, Any]) -> tuple[str, int, int | None]:
    """(clicking user, activity id, delivery id) from a block_actions body."""
    action = (body.get("actions") or [{}])[0]
    try:
        value = json.loads(action.get("value") or "{}")
        activity_id = int(value["a"])
        delivery_id = int(value["d"]) if value.get("d") is not None else None
    except (ValueError, KeyError, TypeError):
        raise UserError("bad_id", value=str(action.get("value")), kinds="A") from None
    return body["user"]["id"], activity_id, delivery_id


def _answer(runtime: Runtime, respond: Respond, template: str, data: dict[str, Any]) -> None:
    respond(
        text=slack_text.templates(runtime).message(template, **data),
        response_type="ephemeral",
        replace_original=False,
    )


def _check(runtime: Runtime, session: Any, user_id: str, subcommand: str, activity_id: int) -> None:
    needed = roles.required_role(
        session,
        subcommand=subcommand,
        args=f"A{activity_id}",
        user_id=user_id,
        declared=Role.INSPECTOR,
    )
    permissions.require(runtime, session, user_id, needed, subcommand)


def _own_reminder(
    runtime: Runtime, session: Any, user_id: str, original: Delivery, activity: Any
) -> None:
    # Only the person the reminder is for (an inspector of the activity, or the DM's
    # owner) or an admin may put it off.
    if original.channel == user_id or user_id in activity.inspector_ids:
        return
    if roles.role_of(session, user_id, runtime.settings.admins) is Role.ADMIN:
        return
    raise UserError("snooze_not_yours", activity=activity)


def on_done(ack: Ack, body: dict[str, Any], respond: Respond, context: Any) -> None:
    """Mark the reminded activity completed (which stops its reminders)."""
    ack()
    runtime: Runtime = context["ciw"]
    try:
        user_id, activity_id, _ = _parse(body)
        with runtime.transaction() as session:
            _check(runtime, session, user_id, "complete", activity_id)
            activity = activities.get_activity(session, activity_id)
            activities.complete(session, activity, actor=user_id, now=runtime.now())
            data = {"activity": activity}
    except UserError as error:
        _answer(runtime, respond, f"errors/{error.template}", error.data)
        return
    _answer(runtime, respond, "reminder_done", data)


def on_snooze(ack: Ack, body: dict[str, Any], respond: Respond, context: Any) -> None:
    """Remind the same conversation again 1 working day later at 09:00."""
    ack()
    runtime: Runtime = context["ciw"]
    try:
        user_id, activity_id, delivery_id = _parse(body)
        with runtime.transaction() as session:
            _check(runtime, session, user_id, "snooze", activity_id)
            activity = activities.get_activity(session, activity_id)
            original = session.get(Delivery, delivery_id) if delivery_id else None
            if original is None or original.activity_id != activity_id:
                raise UserError("unknown_id", ref=f"A{activity_id}")
            _own_reminder(runtime, session, user_id, original, activity)
            planned = planning.snooze(session, original, activity, now=runtime.now())
            if planned is None:
                template, data = "reminder_snooze_refused", {"activity": activity}
            else:
                template = "reminder_snoozed"
                data = {
                    "activity": activity,
                    "due": planned.due_at.astimezone(runtime.settings.tz).date(),
                    "in_channel": not original.channel.startswith("U"),
                }
    except UserError as error:
        _answer(runtime, respond, f"errors/{error.template}", error.data)
        return
    _answer(runtime, respond, template, data)


def on_list(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: Any
) -> None:
    """Answer with `/ciw list` of the activity's authority and review year."""
    ack()
    runtime: Runtime = context["ciw"]
    try:
        user_id, activity_id, _ = _parse(body)
        with runtime.transaction() as session:
            permissions.require(runtime, session, user_id, list_records.ROLE, "list")
            activity = activities.get_activity(session, activity_id)
            year = ReviewYear.of(activity.start_date)
            command = Command(
                runtime=runtime,
                session=session,
                surface=SlackSurface(client=client),
                user_id=user_id,
                channel_id=(body.get("channel") or {}).get("id", ""),
                channel_name="",
                args=f"{activity.authority.slug} {year.label}",
            )
            reply = list_records.run(command)
            rendered = render(runtime, reply)
    except UserError as error:
        _answer(runtime, respond, f"errors/{error.template}", error.data)
        return
    respond(
        text=rendered.text,
        blocks=rendered.blocks,
        response_type="ephemeral",
        replace_original=False,
    )
