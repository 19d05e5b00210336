"""The activity form: opened by `/ciw log-activity` with no arguments.

Its submission is parsed with the command's own parsers and recorded by the command's
own `record`, so the form and the typed command cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import dates, grammar
from bot.errors import UserError
from bot.runtime import Runtime
from handlers.slack.views import form_kit as kit

if TYPE_CHECKING:  # handlers.commands imports this module: no import back at run time
    from handlers.commands.base import Command

CALLBACK_ID = "log_activity_form"

# Which field a refusal from the parsers or the domain belongs to.
_BLOCK_OF = {
    "missing_authority": "authority",
    "unknown_authority": "authority",
    "ambiguous_authority": "authority",
    "not_allowed": "authority",
    "missing_service": "service",
    "unknown_service": "service",
    "missing_when": "start",
    "bad_date": "start",
    "impossible_date": "start",
    "bad_range": "end",
    "end_before_start": "end",
    "bad_time": "time",
    "missing_title": "title",
}


def block_of(error: UserError) -> str:
    """The form block an error is shown on."""
    if error.template == "too_long":
        return "details" if error.data.get("what") == "details" else "title"
    return _BLOCK_OF.get(error.template, "title")


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
            kit.text_input(max_length=500, placeholder="focused activity in children's services"),
            hint="As the letter will print it, before the dates.",
        ),
        kit.input_block(
            "details",
            "Details",
            kit.text_input(max_length=3000, placeholder="to review selected files and records"),
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
    authority = values.get("authority")
    if not authority:
        errors.add("authority", UserError("missing_authority"))
    service = None
    if not values.get("service"):
        errors.add("service", UserError("missing_service"))
    else:
        service = errors.check("service", grammar.parse_service, values["service"])
    start, end, time = values.get("start"), values.get("end"), values.get("time")
    when = None
    if not start:
        errors.add("start", UserError("missing_when"))
    else:
        # The same `DATE[THH:MM][..DATE]` the command takes, so the same checks apply.
        typed = start + (f"T{time}" if time else "") + (f"..{end}" if end else "")
        try:
            when = dates.parse_when(typed)
        except UserError as error:
            errors.add(_date_block(error, start, end), error)
    title = values.get("title") or ""
    if not title.strip():
        errors.add("title", UserError("missing_title"))
    if errors or authority is None or service is None or when is None:
        return None
    return grammar.LogActivity(
        authority=authority,
        service=service,
        when=when,
        title=title,
        details=values.get("details"),
        inspectors=list(values.get("inspectors") or []),
    )


def _date_block(error: UserError, start: str, end: str | None) -> str:
    # A malformed or impossible date is shown on the picker that holds it.
    if error.template in {"bad_date", "impossible_date"} and end and error.data.get("value") == end:
        return "end"
    return block_of(error)


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
