"""The modal asking a reviewer why they request changes; its submission records the request
and posts the reason in the draft's thread."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.errors import UserError
from bot.review import drafts
from bot.runtime import Runtime
from db.models import Role
from handlers.slack import middleware, permissions
from handlers.slack import text as slack_text
from handlers.slack.text import visible

CALLBACK_ID = "draft_change_request"
BLOCK_ID = "reason"
ACTION_ID = "reason"


def view(runtime: Runtime, *, metadata: str, version: int) -> dict[str, Any]:
    """The modal for one version (metadata: the version id and channel, as JSON)."""
    labels = runtime.templates.messages.get_template("draft_labels.j2").module.labels
    return {
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
                "label": {"type": "plain_text", "text": f"{labels['reason_label']} (v{version})"},
                "hint": {"type": "plain_text", "text": labels["reason_hint"]},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ACTION_ID,
                    "multiline": True,
                    "max_length": drafts.MAX_REASON,
                },
            }
        ],
    }


def submitted(ack: Ack, body: dict[str, Any], client: Any, context: Any) -> None:
    """Record the change request before answering, so any problem (the database down or
    too slow included) is shown on the form, which stays open; then close it."""
    runtime: Runtime = context["ciw"]
    user = body["user"]["id"]
    values = body["view"]["state"]["values"]
    reason = (values.get(BLOCK_ID, {}).get(ACTION_ID, {}).get("value") or "").strip()
    metadata = json.loads(body["view"].get("private_metadata") or "{}")
    if not reason:
        message = slack_text.templates(runtime).message("errors/draft_missing_reason")
        ack(response_action="errors", errors={BLOCK_ID: visible(message)})
        return
    try:
        with middleware.ack_transaction(runtime) as session:
            if middleware.first_submission(session, body):
                permissions.require(runtime, session, user, Role.REVIEWER, "request-changes")
                drafts.request_changes(
                    runtime, session, int(metadata["version_id"]), user_id=user, reason=reason
                )
    except UserError as error:
        message = slack_text.templates(runtime).message(f"errors/{error.template}", **error.data)
        ack(response_action="errors", errors={BLOCK_ID: visible(message)[:1000]})
        return
    except IntegrityError:
        ack()  # the same submission, delivered twice at once: the other one recorded it
        return
    except DBAPIError:
        message = slack_text.templates(runtime).message("errors/database_unavailable")
        ack(response_action="errors", errors={BLOCK_ID: visible(message)})
        return
    ack()
    drafts.announce(runtime, int(metadata["version_id"]), actor=user, reason=reason)


def register(app: App) -> None:
    """Register this module's listeners."""
    app.view(CALLBACK_ID)(submitted)
