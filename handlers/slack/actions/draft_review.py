"""Draft review buttons on a draft's parent message: Approve, Request changes, New version.

Each button's value is the id of the version it was shown with.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, Respond
from sqlalchemy.exc import IntegrityError

from bot.errors import UserError
from bot.review import draft_versions, drafts
from bot.runtime import Runtime
from db.models import Role
from handlers.slack import failures, permissions
from handlers.slack.views import change_request


def _version_id(body: dict[str, Any]) -> int:
    return int(body["actions"][0]["value"])


def approve(ack: Ack, body: dict[str, Any], respond: Respond, context: Any) -> None:
    """Record the clicker's approval of the current version, then update Slack."""
    ack()
    runtime: Runtime = context["ciw"]
    user = body["user"]["id"]
    try:
        with runtime.transaction() as session:
            permissions.require(runtime, session, user, Role.REVIEWER, "approve")
            drafts.approve(runtime, session, _version_id(body), user_id=user)
    except UserError as error:
        failures.refuse(runtime, respond, error)
        return
    except IntegrityError:
        # Another click recorded this approval at the same moment: nothing more to do.
        with runtime.transaction() as session:
            number = drafts.get_version(session, _version_id(body)).number
        failures.refuse(runtime, respond, UserError("draft_already_approved", version=number))
        return
    # Slack is told once the approval is committed: a slow Slack never loses a decision.
    drafts.announce(runtime, _version_id(body), actor=user)


def request_changes(
    ack: Ack, body: dict[str, Any], respond: Respond, client: Any, context: Any
) -> None:
    """Open the form asking the reviewer why they request changes."""
    ack()
    runtime: Runtime = context["ciw"]
    user = body["user"]["id"]
    try:
        with runtime.transaction() as session:
            permissions.require(runtime, session, user, Role.REVIEWER, "request-changes")
            version = drafts.check_reviewable(session, _version_id(body))
            metadata = json.dumps({"version_id": version.id, "channel": version.draft.channel_id})
            number = version.number
    except UserError as error:
        failures.refuse(runtime, respond, error)
        return
    client.views_open(
        trigger_id=body["trigger_id"],
        view=change_request.view(runtime, metadata=metadata, version=number),
    )


def new_version(ack: Ack, body: dict[str, Any], respond: Respond, context: Any) -> None:
    """Re-assemble the letter from the current records as the draft's next version."""
    ack()
    runtime: Runtime = context["ciw"]
    user = body["user"]["id"]
    try:
        with runtime.transaction() as session:
            permissions.require(runtime, session, user, Role.INSPECTOR, "draft-letter")
            draft = drafts.get_version(session, _version_id(body)).draft
            outcome = draft_versions.new_version(runtime, session, draft, actor=user)
            version_id = outcome.version.id
    except UserError as error:
        failures.refuse(runtime, respond, error)
        return
    # The version and its messages committed together: the sender posts them now.
    drafts.publish_version(runtime, version_id)


def register(app: App) -> None:
    """Register this module's listeners."""
    app.action(drafts.APPROVE)(approve)
    app.action(drafts.REQUEST_CHANGES)(request_changes)
    app.action(drafts.NEW_VERSION)(new_version)
