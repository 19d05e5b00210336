"""Reviewing a Welsh text in the draft's thread: Approve Welsh, Request changes to Welsh.

The buttons sit on the bot's acknowledgement of each upload; their value is the id of
the Welsh revision they were shown with. A change request asks for its reason in a form,
and the reason is posted in the thread for the translator. What a decision shows in the
thread (the note, the parent's status) is queued in the outbox in the decision's own
transaction and sent after commit (`handlers.slack.draft_posts`).
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, Respond
from sqlalchemy import select

from bot.errors import UserError
from bot.review import draft_outbox, translation
from bot.runtime import Runtime
from db.models import Role, WelshReview
from handlers.slack import deliveries, failures, permissions
from handlers.slack import text as slack_text
from handlers.slack.text import visible

CALLBACK_ID = "welsh_change_request"
BLOCK_ID = "reason"
ACTION_ID = "reason"


def _labels(runtime: Runtime) -> Any:
    return runtime.templates.messages.get_template("welsh_labels.j2").module.labels


def _text_id(body: dict[str, Any]) -> int:
    return int(body["actions"][0]["value"])


def approve(ack: Ack, body: dict[str, Any], respond: Respond, context: Any) -> None:
    """Record the clicker's approval of the Welsh revision, then update Slack."""
    ack()
    runtime: Runtime = context["ciw"]
    user = body["user"]["id"]
    try:
        with runtime.transaction() as session:
            permissions.require(runtime, session, user, Role.REVIEWER, "approve-welsh")
            tally = translation.approve(
                session,
                _text_id(body),
                user_id=user,
                now=runtime.now(),
                required=runtime.settings.required_approvals,
            )
            text = translation.get_text(session, _text_id(body))
            note = slack_text.templates(runtime).message("welsh_decided", text=text, tally=tally)
            if tally.approved:
                draft_outbox.enqueue_welsh(session, text, "approved", now=runtime.now())
            else:
                draft_outbox.enqueue_refresh(
                    session, text.translation.version.draft, now=runtime.now()
                )
    except UserError as error:
        failures.refuse(runtime, respond, error)
        return
    deliveries.kick(runtime)
    respond(text=note, response_type="ephemeral", replace_original=False)


def request_changes(
    ack: Ack, body: dict[str, Any], respond: Respond, client: Any, context: Any
) -> None:
    """Open the form asking the reviewer what should change in the Welsh."""
    ack()
    runtime: Runtime = context["ciw"]
    user = body["user"]["id"]
    try:
        with runtime.transaction() as session:
            permissions.require(runtime, session, user, Role.REVIEWER, "request-changes")
            text = translation.check_reviewable(session, _text_id(body))
            channel = text.translation.version.draft.channel_id
            metadata = json.dumps({"welsh_text_id": text.id, "channel": channel})
            revision = text.revision
    except UserError as error:
        failures.refuse(runtime, respond, error)
        return
    labels = _labels(runtime)
    client.views_open(
        trigger_id=body["trigger_id"],
        view={
            "type": "modal",
            "callback_id": CALLBACK_ID,
            "private_metadata": metadata,
            "title": {"type": "plain_text", "text": labels["modal_title"]},
            "submit": {"type": "plain_text", "text": labels["modal_submit"]},
            "close": {"type": "plain_text", "text": labels["modal_cancel"]},
            "blocks": [
                {
                    "type": "input",
                    "block_id": BLOCK_ID,
                    "label": {
                        "type": "plain_text",
                        "text": f"{labels['reason_label']} (r{revision})",
                    },
                    "hint": {"type": "plain_text", "text": labels["reason_hint"]},
                    "element": {
                        "type": "plain_text_input",
                        "action_id": ACTION_ID,
                        "multiline": True,
                        "max_length": translation.MAX_REASON,
                    },
                }
            ],
        },
    )


def submitted(ack: Ack, body: dict[str, Any], client: Any, context: Any) -> None:
    """Record the Welsh change request; a problem is shown on the form, or privately."""
    runtime: Runtime = context["ciw"]
    user = body["user"]["id"]
    values = body["view"]["state"]["values"]
    reason = (values.get(BLOCK_ID, {}).get(ACTION_ID, {}).get("value") or "").strip()
    metadata = json.loads(body["view"].get("private_metadata") or "{}")
    if not reason:
        message = slack_text.templates(runtime).message("errors/draft_missing_reason")
        ack(response_action="errors", errors={BLOCK_ID: visible(message)})
        return
    ack()
    text_id = int(metadata["welsh_text_id"])
    try:
        with runtime.transaction() as session:
            permissions.require(runtime, session, user, Role.REVIEWER, "request-changes")
            translation.request_changes(
                session,
                text_id,
                user_id=user,
                reason=reason,
                now=runtime.now(),
                required=runtime.settings.required_approvals,
            )
            review = session.scalars(
                select(WelshReview)
                .where(WelshReview.welsh_text_id == text_id, WelshReview.user_id == user)
                .order_by(WelshReview.id.desc())
            ).first()
            draft_outbox.enqueue_welsh(
                session,
                translation.get_text(session, text_id),
                "change_request",
                review=review,
                now=runtime.now(),
            )
    except UserError as error:
        client.chat_postEphemeral(
            channel=metadata["channel"],
            user=user,
            text=slack_text.templates(runtime).message(f"errors/{error.template}", **error.data),
        )
        return
    deliveries.kick(runtime)


def register(app: App) -> None:
    """Register this module's listeners (the buttons and their form)."""
    app.action(translation.APPROVE)(approve)
    app.action(translation.REQUEST_CHANGES)(request_changes)
    app.view(CALLBACK_ID)(submitted)
