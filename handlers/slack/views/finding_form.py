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

from bot import dates, findings, grammar, ids
from bot.dates import ReviewYear
from bot.errors import UserError
from bot.runtime import Runtime
from handlers.slack.views import form_kit as kit

if TYPE_CHECKING:  # handlers.commands imports this module: no import back at run time
    from handlers.commands.base import Command

CALLBACK_ID = "log_finding_form"

PRINCIPLE_OPTIONS = [
    kit.option("Well-being", "well-being"),
    kit.option("People", "people"),
    kit.option("Prevention", "prevention"),
    kit.option("Partnerships", "partnerships"),
]
KIND_OPTIONS = [
    kit.option("Strength", "strength"),
    kit.option("Area for improvement", "improvement"),
]

# Which field a refusal from the parsers or the domain belongs to.
_BLOCK_OF = {
    "missing_authority": "authority",
    "unknown_authority": "authority",
    "ambiguous_authority": "authority",
    "not_allowed": "authority",
    "bad_year": "year",
    "missing_principle": "principle",
    "unknown_principle": "principle",
    "missing_kind": "kind",
    "unknown_kind": "kind",
    "unknown_service": "service",
    "bad_id": "activity",
    "unknown_id": "activity",
    "activity_elsewhere": "activity",
    "missing_finding_text": "text",
    "too_long": "text",
}


def block_of(error: UserError) -> str:
    """The form block an error is shown on."""
    return _BLOCK_OF.get(error.template, "text")


def year_options(today: dt.date) -> list[dict[str, Any]]:
    """The review years a finding is likely to belong to: the next one and five back."""
    current = ReviewYear.of(today).start_year
    return [
        kit.option(ReviewYear(y).label, ReviewYear(y).label)
        for y in range(current + 1, current - 6, -1)
    ]


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
            kit.text_input(max_length=12, placeholder="A12"),
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
    authority = values.get("authority")
    if not authority:
        errors.add("authority", UserError("missing_authority"))
    year = errors.check("year", dates.parse_year, values["year"]) if values.get("year") else None
    principle = kind = None
    if not values.get("principle"):
        errors.add("principle", UserError("missing_principle"))
    else:
        principle = errors.check("principle", grammar.parse_principle, values["principle"])
    if not values.get("kind"):
        errors.add("kind", UserError("missing_kind"))
    else:
        kind = errors.check("kind", grammar.parse_kind, values["kind"])
    service = (
        errors.check("service", grammar.parse_service, values["service"])
        if values.get("service")
        else None
    )
    activity_id = None
    if values.get("activity"):
        found = errors.check("activity", ids.parse_id, values["activity"], "A")
        activity_id = found[1] if found else None
    text = values.get("text") or ""
    if not text.strip():
        errors.add("text", UserError("missing_finding_text"))
    if errors or authority is None or principle is None or kind is None:
        return None
    return grammar.LogFinding(authority, year, principle, kind, service, activity_id, text.strip())


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
