"""The activity form: opened by `/ciw log-activity` with no arguments.

Its submission is parsed with the command's own parsers and recorded by the command's
own `record`, so the form and the typed command cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.records import grammar
from bot.runtime import Runtime
from handlers.commands import forms
from handlers.slack.views import form_kit as kit

if TYPE_CHECKING:  # handlers.commands imports this module: no import back at run time
    from handlers.commands.base import Command

CALLBACK_ID = "log_activity_form"


def block_of(error: UserError) -> str:
    """The form block an error is shown on (the blocks are named as the shared form's fields)."""
    return forms.activity_field_of(error)


def view(authority_options: list[dict[str, Any]], metadata: dict[str, Any]) -> dict[str, Any]:
    """The modal: authority, service, dates, time, title, details, inspectors; `metadata`
    is what `kit.opened_in` signed for the person and channel it is opened for."""
    blocks = [
        kit.input_block(
            "authority",
            "Local authority",
            kit.static_select(authority_options, "Choose the authority"),
        ),
        kit.input_block(
            "service", "Service", kit.static_select(kit.SERVICE_OPTIONS, "Children, adults or both")
        ),
        kit.input_block(
            "start", "Start date", {"type": "datepicker", "placeholder": kit.plain("First day")}
        ),
        kit.input_block(
            "end",
            "End date",
            {"type": "datepicker", "placeholder": kit.plain("Last day")},
            optional=True,
            hint="Leave empty for a one-day activity.",
        ),
        kit.input_block(
            "time",
            "Start time",
            {"type": "timepicker", "placeholder": kit.plain("Office time")},
            optional=True,
        ),
        kit.input_block(
            "title",
            "Title",
            kit.text_input(
                max_length=forms.TITLE_MAX, placeholder="focused activity in children's services"
            ),
            hint="As the letter will print it, before the dates.",
        ),
        kit.input_block(
            "details",
            "Details",
            kit.text_input(
                max_length=forms.DETAILS_MAX, placeholder="to review selected files and records"
            ),
            optional=True,
            hint="Printed after the dates.",
        ),
        kit.input_block(
            "inspectors",
            "Inspectors",
            {"type": "multi_users_select", "placeholder": kit.plain("Who takes part")},
            optional=True,
            hint="You are always one of them.",
        ),
    ]
    return kit.modal(CALLBACK_ID, "Log an activity", blocks, metadata)


def open_form(command: Command, *, client: WebClient, trigger_id: str | None) -> None:
    """Open the form in a modal, remembering the channel it was asked for in."""
    client.views_open(
        trigger_id=trigger_id,
        view=view(
            kit.authority_options(command.session),
            kit.opened_in(
                command.runtime, CALLBACK_ID, user_id=command.user_id, channel_id=command.channel_id
            ),
        ),
    )


def parse(values: dict[str, Any], errors: kit.FieldErrors) -> grammar.LogActivity | None:
    """The form's values as the command's parsed arguments; None (errors noted) if invalid."""
    return forms.parse_activity(values, errors)


def submit(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Validate and record the submission; field errors go back into the modal."""
    from handlers.commands import log_activity  # the command module imports this one

    def record(
        runtime: Runtime, session: Session, parsed: Any, user_id: str, channel_id: str | None
    ) -> Any:
        return log_activity.record(
            session,
            parsed,
            actor=user_id,
            channel_id=channel_id,
            platform="slack",
            today=runtime.today(),
            now=runtime.now(),
        )

    kit.submit(
        ack,
        body,
        client,
        context["ciw"],
        action=log_activity.NAME,
        parse=parse,
        record=record,
        block_of=block_of,
    )


def register(app: App) -> None:
    """Listen for the form's submission."""
    app.view(CALLBACK_ID)(submit)
