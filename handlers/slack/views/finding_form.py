"""The finding form: opened by `/ciw log-finding` with no arguments.

Its submission is parsed with the command's own parsers and recorded by the command's
own `record`, so the form and the typed command cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.records import findings, grammar
from bot.runtime import Runtime
from handlers.commands import forms
from handlers.slack.views import form_kit as kit

if TYPE_CHECKING:  # handlers.commands imports this module: no import back at run time
    from handlers.commands.base import Command

CALLBACK_ID = "log_finding_form"

PRINCIPLE_OPTIONS = kit.options(forms.PRINCIPLE_CHOICES)
KIND_OPTIONS = kit.options(forms.KIND_CHOICES)


def block_of(error: UserError) -> str:
    """The form block an error is shown on (the blocks are named as the shared form's fields)."""
    return forms.finding_field_of(error)


def year_options(today: dt.date) -> list[dict[str, Any]]:
    """The review years a finding is likely to belong to: the next one and five back."""
    return kit.options(forms.year_choices(today))


def view(
    authority_choices: list[dict[str, Any]], today: dt.date, metadata: dict[str, Any]
) -> dict[str, Any]:
    """The modal: authority, year, principle, strength or improvement, service, activity, text;
    `metadata` is what `kit.opened_in` signed for the person and channel it is opened for."""
    blocks = [
        kit.input_block(
            "authority",
            "Local authority",
            kit.static_select(authority_choices, "Choose the authority"),
        ),
        kit.input_block(
            "year",
            "Review year",
            kit.static_select(year_options(today), "Year"),
            optional=True,
            hint="Leave empty for the linked activity's year, else the current one.",
        ),
        kit.input_block(
            "principle",
            "Principle",
            kit.static_select(PRINCIPLE_OPTIONS, "Which principle of the Act"),
        ),
        kit.input_block(
            "kind",
            "Strength or area for improvement",
            kit.static_select(KIND_OPTIONS, "Strength or improvement"),
        ),
        kit.input_block(
            "service", "Service", kit.static_select(kit.SERVICE_OPTIONS, "Service"), optional=True
        ),
        kit.input_block(
            "activity",
            "Activity",
            kit.text_input(max_length=forms.ACTIVITY_REF_MAX, placeholder="A12"),
            optional=True,
            hint="The id of the activity it came from, e.g. A12.",
        ),
        kit.input_block(
            "text", "Finding", kit.text_input(multiline=True, max_length=findings.MAX_TEXT)
        ),
    ]
    return kit.modal(CALLBACK_ID, "Log a finding", blocks, metadata)


def open_form(command: Command, *, client: WebClient, trigger_id: str | None) -> None:
    """Open the form in a modal, remembering the channel it was asked for in."""
    client.views_open(
        trigger_id=trigger_id,
        view=view(
            kit.authority_options(command.session),
            command.today,
            kit.opened_in(
                command.runtime, CALLBACK_ID, user_id=command.user_id, channel_id=command.channel_id
            ),
        ),
    )


def parse(values: dict[str, Any], errors: kit.FieldErrors) -> grammar.LogFinding | None:
    """The form's values as the command's parsed arguments; None (errors noted) if invalid."""
    return forms.parse_finding(values, errors)


def submit(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Validate and record the submission; field errors go back into the modal."""
    from handlers.commands import log_finding  # the command module imports this one

    def record(
        runtime: Runtime, session: Session, parsed: Any, user_id: str, channel_id: str | None
    ) -> Any:
        return log_finding.record(
            session, parsed, actor=user_id, today=runtime.today(), now=runtime.now()
        )

    kit.submit(
        ack,
        body,
        client,
        context["ciw"],
        action=log_finding.NAME,
        parse=parse,
        record=record,
        block_of=block_of,
    )


def register(app: App) -> None:
    """Listen for the form's submission."""
    app.view(CALLBACK_ID)(submit)
