"""The activity and finding forms in Teams: Adaptive Card dialogs (task modules).

`/ciw log-activity` or `/ciw log-finding` with no arguments answers (privately) with a card
whose button opens the form in a dialog (`task/fetch`, answered with the form card).
Submitting it (`task/submit`) parses the values with the same parsers as Slack's forms
(`handlers.commands.forms`) and records them with the command's own `record`: a field in
error comes back in the dialog, under that field, with the values as entered and nothing
recorded; a good form is recorded, the dialog closes and the confirmation goes to the
person's personal chat.

The button and the form carry, signed with a key derived from TEAMS_APP_PASSWORD, the
person they were opened for and the channel the command was typed in (where the
activity's reminders go); the form also carries a nonce, so one dialog records once
however often it is submitted. Anything altered is refused on the form, nothing recorded.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from microsoft_teams.api import (
    Attachment,
    CardTaskModuleTaskInfo,
    TaskModuleContinueResponse,
    TaskModuleMessageResponse,
    TaskModuleResponse,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.access import roles
from bot.delivery.messages import shield
from bot.errors import UserError
from bot.records import findings
from bot.runtime import Runtime
from db.models import Role
from handlers.commands import forms as shared
from handlers.commands.base import Reply
from handlers.teams import answers, cards, members
from handlers.teams.answers import Answer
from handlers.teams.cards import CONTENT_TYPE as CARD
from handlers.teams.members import ENTRA_ID
from handlers.teams.text import escape
from handlers.teams.turns import Duplicate, Turn, claim

log = logging.getLogger("ciw.teams.forms")

# The dialog of each form: the opener button's `dialog_id`, the form's submit `action`.
DIALOG = {shared.ACTIVITY: "ciw_log_activity", shared.FINDING: "ciw_log_finding"}
FIELDS = {
    shared.ACTIVITY: (
        "authority",
        "service",
        "start",
        "end",
        "time",
        "title",
        "details",
        "inspectors",
    ),
    shared.FINDING: ("authority", "year", "principle", "kind", "service", "activity", "text"),
}
_MARKUP = re.compile(r"[`*]")


def signing_key(runtime: Runtime) -> bytes:
    """The forms' signing key: derived from the bot's password, never the password itself."""
    return shared.signing_key(runtime.settings.teams_app_password or "", b"ciw teams form v1")


# -- the opener ---------------------------------------------------------------------------
def opener(runtime: Runtime, form: str, user_id: str, channel_id: str) -> Answer:
    """The card offering the form to `user_id`, for a command typed in `channel_id`."""
    words = answers.labels(runtime)
    opened = shared.opened(signing_key(runtime), form, user_id=user_id, channel_id=channel_id)
    button = {
        "type": "Action.Submit",
        "title": words["open_form"],
        "data": {"msteams": {"type": "task/fetch"}, "dialog_id": DIALOG[form], "opened": opened},
    }
    card = cards.card_of([cards.text_block(escape(words[f"{form}_opener"]))], [button])
    return Answer(shield(words[f"{form}_opener"]), card=card)


# -- the form card ---------------------------------------------------------------------------
def _choices(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"title": label[:75], "value": value} for label, value in pairs]


class _Card:
    """A form card's body, built field by field, each error under its field; a required
    field says what is missing when it is left empty (Teams shows its `errorMessage` and
    does not submit), in the words the parsers and Slack's forms use for it."""

    def __init__(self, runtime: Runtime, values: dict[str, Any], errors: dict[str, str]) -> None:
        self.runtime = runtime
        self.values = values
        self.errors = errors
        self.body: list[dict[str, Any]] = []

    def add(self, field: str, element: dict[str, Any], hint: str | None = None) -> None:
        value = self.values.get(field)
        if isinstance(value, list):
            value = ",".join(value)
        if value:
            element["value"] = value
        if element.get("isRequired"):
            element["errorMessage"] = said(self.runtime, UserError(shared.MISSING[field]))
        self.body.append({"id": field, **element})
        if hint:
            self.body.append(cards.text_block(escape(hint), isSubtle=True, spacing="None"))
        if field in self.errors:
            self.body.append(cards.text_block(escape(self.errors[field]), color="attention"))


def _choice_set(
    label: str, choices: list[dict[str, str]], placeholder: str, *, required: bool, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "Input.ChoiceSet",
        "label": label,
        "placeholder": placeholder,
        "choices": choices,
        "style": "compact",
        "isRequired": required,
        **extra,
    }


def _text(label: str, max_length: int, placeholder: str = "", **extra: Any) -> dict[str, Any]:
    element = {"type": "Input.Text", "label": label, "maxLength": max_length, **extra}
    if placeholder:
        element["placeholder"] = placeholder
    return element


def activity_card(
    runtime: Runtime, session: Session, opened: dict[str, str], values=None, errors=None
) -> dict[str, Any]:
    """The activity form: authority, service, dates, time, title, details, inspectors."""
    w = answers.labels(runtime)
    card = _Card(runtime, values or {}, errors or {})
    if errors:
        card.body.append(cards.text_block(escape(w["form_errors"]), color="attention"))
    authorities = _choices(shared.authority_choices(session))
    card.add(
        "authority",
        _choice_set(w["authority"], authorities, w["authority_placeholder"], required=True),
    )
    card.add(
        "service",
        _choice_set(
            w["service"],
            _choices(shared.SERVICE_CHOICES),
            w["service_placeholder"],
            required=True,
        ),
    )
    card.add("start", {"type": "Input.Date", "label": w["start"], "isRequired": True})
    card.add("end", {"type": "Input.Date", "label": w["end"]}, w["end_hint"])
    card.add("time", {"type": "Input.Time", "label": w["time"]})
    card.add(
        "title",
        _text(w["title"], shared.TITLE_MAX, w["title_placeholder"], isRequired=True),
        w["title_hint"],
    )
    card.add(
        "details",
        _text(w["details"], shared.DETAILS_MAX, w["details_placeholder"], isMultiline=True),
        w["details_hint"],
    )
    card.add(
        "inspectors",
        {
            "type": "Input.ChoiceSet",
            "label": w["inspectors"],
            "isMultiSelect": True,
            "choices": [],
            # Teams' people picker: the values are the people's Entra object ids.
            "choices.data": {"type": "Data.Query", "dataset": "graph.microsoft.com/users"},
        },
        w["inspectors_hint"],
    )
    return _form(w, shared.ACTIVITY, card.body, opened)


def finding_card(
    runtime: Runtime, session: Session, opened: dict[str, str], values=None, errors=None
) -> dict[str, Any]:
    """The finding form: authority, year, principle, kind, service, activity, text."""
    w = answers.labels(runtime)
    card = _Card(runtime, values or {}, errors or {})
    if errors:
        card.body.append(cards.text_block(escape(w["form_errors"]), color="attention"))
    authorities = _choices(shared.authority_choices(session))
    card.add(
        "authority",
        _choice_set(w["authority"], authorities, w["authority_placeholder"], required=True),
    )
    years = _choices(shared.year_choices(runtime.today()))
    card.add(
        "year", _choice_set(w["year"], years, w["year_placeholder"], required=False), w["year_hint"]
    )
    card.add(
        "principle",
        _choice_set(
            w["principle"],
            _choices(shared.PRINCIPLE_CHOICES),
            w["principle_placeholder"],
            required=True,
        ),
    )
    card.add(
        "kind",
        _choice_set(w["kind"], _choices(shared.KIND_CHOICES), w["kind_placeholder"], required=True),
    )
    card.add(
        "service",
        _choice_set(
            w["service"], _choices(shared.SERVICE_CHOICES), w["service_placeholder"], required=False
        ),
    )
    card.add(
        "activity",
        _text(w["activity"], shared.ACTIVITY_REF_MAX, "A12"),
        w["activity_hint"],
    )
    card.add("text", _text(w["text"], findings.MAX_TEXT, isMultiline=True, isRequired=True))
    return _form(w, shared.FINDING, card.body, opened)


def _form(
    w: dict[str, str], form: str, body: list[dict[str, Any]], opened: dict[str, str]
) -> dict[str, Any]:
    record = {
        "type": "Action.Submit",
        "title": w["submit"],
        "data": {"action": DIALOG[form], "opened": opened},
    }
    return cards.card_of(body, [record])


CARDS: dict[str, Callable[..., dict[str, Any]]] = {
    shared.ACTIVITY: activity_card,
    shared.FINDING: finding_card,
}


def _card_in_session(runtime: Runtime, form: str, opened: dict, values=None, errors=None) -> dict:
    with runtime.transaction() as session:
        return CARDS[form](runtime, session, opened, values, errors)


def dialog(runtime: Runtime, form: str, card: dict[str, Any]) -> TaskModuleResponse:
    """The dialog showing a form card."""
    title = answers.labels(runtime)[f"{form}_title"]
    return TaskModuleResponse(
        task=TaskModuleContinueResponse(
            value=CardTaskModuleTaskInfo(
                title=title,
                width="medium",
                height="large",
                card=Attachment(content_type=CARD, content=card),
            )
        )
    )


def said(runtime: Runtime, error: UserError) -> str:
    """An error as a form shows it (plain words)."""
    text = answers.text(runtime, f"errors/{error.template}", **error.data)
    return _MARKUP.sub("", text)[:1000]


def popup(runtime: Runtime, error: UserError) -> TaskModuleResponse:
    """A refusal shown in place of the form (the dialog then closes)."""
    return TaskModuleResponse(task=TaskModuleMessageResponse(value=said(runtime, error)))


# -- reading and recording a submission ---------------------------------------------------------
def submitted(form: str, data: dict[str, Any]) -> dict[str, Any]:
    """The form's values by field: text stripped (None when empty), people as a list."""
    values: dict[str, Any] = {}
    for name in FIELDS[form]:
        raw = data.get(name)
        value = raw.strip() if isinstance(raw, str) else None
        if name == "inspectors":
            values[name] = [p.strip() for p in (value or "").split(",") if p.strip()]
        else:
            values[name] = value or None
    return values


def _check_people(values: dict[str, Any], errors: shared.FieldErrors) -> None:
    # The picker gives Entra object ids; anything else was not picked there.
    for person in values.get("inspectors") or []:
        if not ENTRA_ID.fullmatch(person):
            errors.add("inspectors", UserError("teams_bad_user", value=person))
            return


class _NotRecorded(Exception):
    """The values had errors: the transaction is rolled back."""


def _record(
    runtime: Runtime,
    form: str,
    values: dict[str, Any],
    errors: shared.FieldErrors,
    *,
    user_id: str,
    channel_id: str | None,
    nonce: str,
) -> Reply | None:
    from handlers.commands import log_activity, log_finding  # they import the shared forms

    module = log_activity if form == shared.ACTIVITY else log_finding
    parse = shared.parse_activity if form == shared.ACTIVITY else shared.parse_finding
    try:
        with runtime.transaction() as session:
            claim(session, f"teams:form:{nonce}"[:200], runtime.now())
            roles.check(
                session,
                user_id=user_id,
                needed=Role.INSPECTOR,
                subcommand=module.NAME,
                admins=runtime.settings.admins,
                now=runtime.now(),
            )
            _check_people(values, errors)
            parsed = parse(values, errors) if not errors else None
            if parsed is None or errors:
                raise _NotRecorded
            if form == shared.ACTIVITY:
                return log_activity.record(
                    session,
                    parsed,
                    actor=user_id,
                    channel_id=channel_id,
                    platform="teams",
                    today=runtime.today(),
                    now=runtime.now(),
                )
            return log_finding.record(
                session, parsed, actor=user_id, today=runtime.today(), now=runtime.now()
            )
    except _NotRecorded:
        return None


def _data(turn: Turn) -> dict[str, Any]:
    value = turn.activity.value
    data = value.data if value is not None else None
    return data if isinstance(data, dict) else {}


async def open_dialog(turn: Turn, form: str) -> TaskModuleResponse:
    """`task/fetch` from an opener: the form, for the person it was offered to."""
    runtime = turn.runtime
    person = await members.checked_sender(turn)
    if isinstance(person, UserError):
        return popup(runtime, person)
    try:
        opened = shared.verified(
            signing_key(runtime), form, _data(turn).get("opened"), person.user_id
        )
    except UserError as error:
        log.warning("teams form refused: not as signed", extra={"outcome": "forged"})
        return popup(runtime, error)
    signed = shared.opened(
        signing_key(runtime),
        form,
        user_id=person.user_id,
        channel_id=opened["channel_id"],
        nonce=uuid.uuid4().hex,
    )
    card = await turn.sync(_card_in_session, runtime, form, signed)
    return dialog(runtime, form, card)


async def submit_dialog(turn: Turn, form: str) -> TaskModuleResponse:
    """`task/submit`: record the form as its command would; errors back into the dialog."""
    runtime = turn.runtime
    person = await members.checked_sender(turn)
    if isinstance(person, UserError):
        return popup(runtime, person)
    data = _data(turn)
    try:
        opened = shared.verified(
            signing_key(runtime), form, data.get("opened"), person.user_id, extra=("nonce",)
        )
    except UserError as error:
        log.warning("teams form refused: not as signed", extra={"outcome": "forged"})
        return popup(runtime, error)
    values = submitted(form, data)
    errors = shared.FieldErrors(lambda error: said(runtime, error))
    field_of = shared.activity_field_of if form == shared.ACTIVITY else shared.finding_field_of
    reply = None
    failed = False  # the database failed (logged once)
    try:
        reply = await turn.sync(
            _record,
            runtime,
            form,
            values,
            errors,
            user_id=person.user_id,
            channel_id=opened["channel_id"] or None,
            nonce=opened["nonce"],
        )
    except (Duplicate, IntegrityError):
        # This dialog was recorded already (submitted twice): nothing more; it closes.
        log.info("repeated teams form dropped", extra={"outcome": "duplicate"})
        return TaskModuleResponse()
    except UserError as error:
        errors.add(field_of(error), error)
    except DBAPIError:
        log.warning("teams form not recorded: database unavailable", exc_info=True)
        errors.add(FIELDS[form][0], UserError("database_unavailable"))
        failed = True
    if errors or reply is None:
        try:
            card = await turn.sync(
                _card_in_session, runtime, form, opened, values, dict(errors.errors)
            )
        except DBAPIError:
            # Not even read (its choices are the records'): said in place of the form.
            if not failed:
                log.warning("teams form not shown again: database unavailable", exc_info=True)
            return popup(runtime, UserError("database_unavailable"))
        return dialog(runtime, form, card)
    answer = answers.render(runtime, reply)
    turn.later(lambda away: answers.privately(away, person, [answer]), "form reply")
    return TaskModuleResponse()  # no task: the dialog closes


async def _answered(runtime: Runtime, work: Any) -> TaskModuleResponse:
    # A failure is told in the dialog, never a 500 (Teams would say "unable to reach the app").
    try:
        return await work
    except DBAPIError:
        log.warning("teams form failed: database unavailable", exc_info=True)
        return popup(runtime, UserError("database_unavailable"))
    except Exception:
        log.exception("teams form failed")
        return popup(runtime, UserError("internal"))


def register(app: Any, runtime: Runtime) -> None:
    """The two forms' dialogs: opened from their cards, submitted."""
    for form, dialog_id in DIALOG.items():

        def handlers(form: str = form) -> tuple[Any, Any]:
            async def opened(ctx: Any) -> TaskModuleResponse:
                return await _answered(runtime, open_dialog(Turn.of(runtime, app, ctx), form))

            async def submitted_(ctx: Any) -> TaskModuleResponse:
                return await _answered(runtime, submit_dialog(Turn.of(runtime, app, ctx), form))

            return opened, submitted_

        on_open, on_submit = handlers()
        app.on_dialog_open(dialog_id)(on_open)
        app.on_dialog_submit(dialog_id)(on_submit)
