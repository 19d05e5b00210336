"""What the two record forms share: Block Kit pieces, reading a submission, field errors,
and the confirmation that goes to the person who submitted.

The forms record through the same parsers and domain functions as the inline commands;
this module only adapts Slack's modal shapes to them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.runtime import Runtime
from db.models import Role
from handlers.commands import forms
from handlers.slack import middleware, permissions
from handlers.slack import text as slack_text
from handlers.slack.text import visible

if TYPE_CHECKING:  # handlers.commands imports the forms: no import back at run time
    from handlers.commands.base import Reply

log = logging.getLogger("ciw.forms")

ACTION = "value"  # every input's action_id: one input per block
USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,20}")

# Slack's answers to chat.postEphemeral when the bot cannot post in that conversation;
# the confirmation then goes to the person's DM with the app instead.
_NOT_THERE = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "user_not_in_channel",
    "restricted_action",
    "method_not_supported_for_channel_type",
}


def plain(text: str) -> dict[str, Any]:
    """A plain_text object (Slack's 75-character option label limit applied)."""
    return {"type": "plain_text", "text": text[:75], "emoji": True}


def option(label: str, value: str) -> dict[str, Any]:
    """One option of a select."""
    return {"text": plain(label), "value": value}


def options(choices: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """A select's options from (label, value) pairs."""
    return [option(label, value) for label, value in choices]


SERVICE_OPTIONS = options(forms.SERVICE_CHOICES)


def authority_options(session: Session) -> list[dict[str, Any]]:
    """The 22 authorities as select options (English name, slug as the value)."""
    return options(forms.authority_choices(session))


def input_block(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    """An input block holding one element whose action_id is `ACTION`."""
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {"action_id": ACTION, **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def static_select(
    options: list[dict[str, Any]], placeholder: str, initial: str | None = None
) -> dict[str, Any]:
    """A static_select element, with `initial` (a value) preselected when given."""
    element: dict[str, Any] = {
        "type": "static_select",
        "placeholder": plain(placeholder),
        "options": options,
    }
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return element


def text_input(
    *, multiline: bool = False, max_length: int | None = None, placeholder: str | None = None
) -> dict[str, Any]:
    """A plain_text_input element."""
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline}
    if max_length:
        element["max_length"] = max_length
    if placeholder:
        element["placeholder"] = plain(placeholder)
    return element


def _metadata_key(runtime: Runtime) -> bytes:
    # Derived from the signing secret (the bot token where none is set, in socket mode),
    # so the key is never the secret itself and nothing new has to be configured.
    secret = runtime.settings.slack_signing_secret or runtime.settings.slack_bot_token or ""
    return forms.signing_key(secret)


def opened_in(runtime: Runtime, callback_id: str, *, user_id: str, channel_id: str | None) -> dict:
    """The private_metadata of a form opened by `user_id` in `channel_id`: signed, so a
    submission can only name the channel (and person) the form was really opened for."""
    return forms.opened(_metadata_key(runtime), callback_id, user_id=user_id, channel_id=channel_id)


def verified_channel(runtime: Runtime, view: dict[str, Any], user_id: str) -> str | None:
    """The channel a submitted form was opened in, or UserError if its private_metadata
    is not what the bot signed for this person and form (forged or altered)."""
    data = forms.verified(
        _metadata_key(runtime), str(view.get("callback_id") or ""), metadata(view), user_id
    )
    channel = data["channel_id"]
    if channel and not CHANNEL_ID.fullmatch(channel):
        raise UserError("form_tampered")
    return channel or None


def modal(
    callback_id: str, title: str, blocks: list[dict[str, Any]], metadata: dict[str, Any]
) -> dict[str, Any]:
    """A modal view with Record / Cancel buttons; `metadata` rides in private_metadata."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title[:24]),
        "submit": plain("Record"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps(metadata),
        "blocks": blocks,
    }


def submitted(view: dict[str, Any]) -> dict[str, Any]:
    """The submitted values by block_id: a string, a list of user ids, or None when empty."""
    found: dict[str, Any] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        state = actions.get(ACTION) or next(iter(actions.values()), {})
        kind = state.get("type")
        if kind in {"static_select", "external_select"}:
            value = (state.get("selected_option") or {}).get("value")
        elif kind == "datepicker":
            value = state.get("selected_date")
        elif kind == "timepicker":
            value = state.get("selected_time")
        elif kind == "multi_users_select":
            value = list(state.get("selected_users") or [])
        else:
            value = state.get("value")
        found[block_id] = (value.strip() or None) if isinstance(value, str) else value
    return found


def first_input(view: dict[str, Any]) -> str:
    """The block id of the form's first input (where a whole-form problem is shown)."""
    blocks = view.get("blocks") or []
    return next((b["block_id"] for b in blocks if b.get("type") == "input"), "value")


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The private_metadata the form was opened with (empty if missing or not ours)."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


class FieldErrors(forms.FieldErrors):
    """One message per block, rendered from the same error templates as the commands."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

        def describe(error: UserError) -> str:
            # Plain text: modal errors show no mrkdwn.
            text = slack_text.templates(runtime).message(f"errors/{error.template}", **error.data)
            return visible(text).replace("`", "").replace("*", "")[:1000]

        super().__init__(describe)


def confirm(
    runtime: Runtime, client: WebClient, *, user_id: str, channel_id: str | None, reply: Reply
) -> None:
    """Tell the submitter what was recorded: ephemeral in the channel the form came from,
    else (no channel, or the bot cannot post there) in their DM with the app."""
    text = slack_text.templates(runtime).message(reply.template, **reply.data)
    if channel_id:
        try:
            client.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
            return
        except SlackApiError as error:
            if error.response.get("error") not in _NOT_THERE:
                raise
    client.chat_postMessage(channel=user_id, text=text)


def _check_users(values: dict[str, Any], errors: FieldErrors) -> None:
    # People come from a users select: a forged value (`U1><!channel`) is refused as
    # strictly as a typed mention would be.
    for block_id, value in values.items():
        if isinstance(value, list):
            bad = next((v for v in value if not USER_ID.fullmatch(str(v))), None)
            if bad is not None:
                errors.add(block_id, UserError("bad_user", value=str(bad)))


class _NotRecorded(Exception):
    """The form's values had errors: roll the transaction back."""


# parse(submitted values, errors) -> what the command's grammar would give, or None
Parse = Callable[[dict[str, Any], FieldErrors], Any]
# record(runtime, session, parsed, user_id, channel_id) -> the command's reply
Record = Callable[[Runtime, Session, Any, str, str | None], "Reply"]


def submit(
    ack: Any,
    body: dict[str, Any],
    client: WebClient,
    runtime: Runtime,
    *,
    action: str,
    parse: Parse,
    record: Record,
    block_of: Callable[[UserError], str],
) -> None:
    """Record a form's submission as its command would; field errors go back into the modal."""
    form = body["view"]
    user_id = body["user"]["id"]
    errors = FieldErrors(runtime)
    try:
        channel_id = verified_channel(runtime, form, user_id)
    except UserError as error:
        # Not the form the bot opened for this person there: nothing recorded, nobody told
        # but them (on the form).
        log.warning("form refused: private_metadata not as signed", extra={"outcome": "forged"})
        errors.add(first_input(form), error)
        ack(response_action="errors", errors=errors.errors)
        return
    reply = None
    try:
        with middleware.ack_transaction(runtime) as session:
            if not middleware.first_submission(session, body):
                ack()  # delivered twice: recorded the first time
                return
            permissions.require(runtime, session, user_id, Role.INSPECTOR, action)
            values = submitted(form)
            _check_users(values, errors)
            parsed = parse(values, errors) if not errors else None
            if parsed is None or errors:
                # Nothing recorded, so the submission is not kept as seen either.
                raise _NotRecorded
            reply = record(runtime, session, parsed, user_id, channel_id)
    except _NotRecorded:
        pass
    except UserError as error:
        errors.add(block_of(error), error)
    except IntegrityError:
        ack()  # the same submission, delivered twice at once: the other one recorded it
        return
    except DBAPIError:
        # Down or too slow to answer within the ack: the form stays open and says so.
        log.warning("form not recorded: database unavailable", extra={"outcome": "db"})
        errors.add(first_input(form), UserError("database_unavailable"))
    if errors or reply is None:
        ack(response_action="errors", errors=errors.errors)
        return
    ack()
    confirm(runtime, client, user_id=user_id, channel_id=channel_id, reply=reply)
