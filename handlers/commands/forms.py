"""The record forms without a platform: their choices, reading the values a person entered
into the command's parsed arguments with one error per field, and the signature that
ties a form to the person and place it was opened for.

Slack shows them as modals (`handlers.slack.views`), Teams as Adaptive Card dialogs
(`handlers.teams.forms`); both parse through here, so the forms and the typed commands
take the same values and refuse the same mistakes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.records import authorities, dates, grammar, ids
from bot.records.dates import ReviewYear

T = TypeVar("T")

ACTIVITY, FINDING = "activity", "finding"  # the forms, as `Surface.open_form` names them

# (label, value) pairs: a select's options, in the order shown.
SERVICE_CHOICES = [
    ("Children's services", "children"),
    ("Adults services", "adults"),
    ("Both", "both"),
]
PRINCIPLE_CHOICES = [
    ("Well-being", "well-being"),
    ("People", "people"),
    ("Prevention", "prevention"),
    ("Partnerships", "partnerships"),
]
KIND_CHOICES = [("Strength", "strength"), ("Area for improvement", "improvement")]

TITLE_MAX, DETAILS_MAX, ACTIVITY_REF_MAX = 500, 3000, 12

# The error of each required field left empty (the template the typed command answers
# with): what the parsers below note, and what a form says under the empty field.
MISSING = {
    "authority": "missing_authority",
    "service": "missing_service",
    "start": "missing_when",
    "title": "missing_title",
    "principle": "missing_principle",
    "kind": "missing_kind",
    "text": "missing_finding_text",
}


def authority_choices(session: Session) -> list[tuple[str, str]]:
    """The 22 authorities (English name, slug), by name."""
    return [
        (a.english_name, a.slug)
        for a in sorted(authorities.all_authorities(session), key=lambda a: a.english_name)
    ]


def year_choices(today: dt.date) -> list[tuple[str, str]]:
    """The review years a finding is likely to belong to: the next one and five back."""
    current = ReviewYear.of(today).start_year
    return [(ReviewYear(y).label, ReviewYear(y).label) for y in range(current + 1, current - 6, -1)]


class FieldErrors:
    """One message per field, each the error template a typed command would answer with,
    rendered by `describe` in the platform's way."""

    def __init__(self, describe: Callable[[UserError], str]) -> None:
        self.describe = describe
        self.errors: dict[str, str] = {}

    def add(self, field: str, error: UserError) -> None:
        """Keep the first error of a field."""
        if field not in self.errors:
            self.errors[field] = self.describe(error)

    def check(self, field: str, parse: Callable[..., T], *args: Any) -> T | None:
        """`parse(*args)`, or None with the error put on `field`."""
        try:
            return parse(*args)
        except UserError as error:
            self.add(field, error)
            return None

    @contextmanager
    def on(self, field: str) -> Iterator[None]:
        """Errors raised inside the block are shown on `field`."""
        try:
            yield
        except UserError as error:
            self.add(field, error)

    def __bool__(self) -> bool:
        return bool(self.errors)


# -- the activity form ----------------------------------------------------------------------
# Which field a refusal from the parsers or the domain belongs to.
_ACTIVITY_FIELD_OF = {
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


def activity_field_of(error: UserError) -> str:
    """The activity form's field an error is shown on."""
    if error.template == "too_long":
        return "details" if error.data.get("what") == "details" else "title"
    return _ACTIVITY_FIELD_OF.get(error.template, "title")


def parse_activity(values: dict[str, Any], errors: FieldErrors) -> grammar.LogActivity | None:
    """The activity form's values (by field: authority, service, start, end, time, title,
    details, inspectors) as the command's parsed arguments; None (errors noted) if invalid."""
    authority = values.get("authority")
    if not authority:
        errors.add("authority", UserError(MISSING["authority"]))
    service = None
    if not values.get("service"):
        errors.add("service", UserError(MISSING["service"]))
    else:
        service = errors.check("service", grammar.parse_service, values["service"])
    start, end, time = values.get("start"), values.get("end"), values.get("time")
    when = None
    if not start:
        errors.add("start", UserError(MISSING["start"]))
    else:
        # The same `DATE[THH:MM][..DATE]` the command takes, so the same checks apply.
        typed = start + (f"T{time}" if time else "") + (f"..{end}" if end else "")
        try:
            when = dates.parse_when(typed)
        except UserError as error:
            errors.add(_date_field(error, end), error)
    title = values.get("title") or ""
    if not title.strip():
        errors.add("title", UserError(MISSING["title"]))
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


def _date_field(error: UserError, end: str | None) -> str:
    # A malformed or impossible date is shown on the picker that holds it.
    if error.template in {"bad_date", "impossible_date"} and end and error.data.get("value") == end:
        return "end"
    return activity_field_of(error)


# -- the finding form -----------------------------------------------------------------------
_FINDING_FIELD_OF = {
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


def finding_field_of(error: UserError) -> str:
    """The finding form's field an error is shown on."""
    return _FINDING_FIELD_OF.get(error.template, "text")


def parse_finding(values: dict[str, Any], errors: FieldErrors) -> grammar.LogFinding | None:
    """The finding form's values (by field: authority, year, principle, kind, service,
    activity, text) as the command's parsed arguments; None (errors noted) if invalid."""
    authority = values.get("authority")
    if not authority:
        errors.add("authority", UserError(MISSING["authority"]))
    year = errors.check("year", dates.parse_year, values["year"]) if values.get("year") else None
    principle = kind = None
    if not values.get("principle"):
        errors.add("principle", UserError(MISSING["principle"]))
    else:
        principle = errors.check("principle", grammar.parse_principle, values["principle"])
    if not values.get("kind"):
        errors.add("kind", UserError(MISSING["kind"]))
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
        errors.add("text", UserError(MISSING["text"]))
    if errors or authority is None or principle is None or kind is None:
        return None
    return grammar.LogFinding(authority, year, principle, kind, service, activity_id, text.strip())


# -- who opened it, and where ---------------------------------------------------------------
def signing_key(secret: str, purpose: bytes = b"ciw form private_metadata v1") -> bytes:
    """A key for signing forms, derived from a platform secret (never the secret itself)."""
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def signature(key: bytes, *parts: str) -> str:
    """The HMAC-SHA256 of these strings (as a JSON list), hex."""
    return hmac.new(key, json.dumps(list(parts)).encode(), hashlib.sha256).hexdigest()


def opened(key: bytes, form: str, *, user_id: str, channel_id: str | None, **extra: str) -> dict:
    """What a form carries of where it was opened: the channel and the person, with any
    `extra` strings (a nonce), signed together with the form's name so none can be changed."""
    channel = channel_id or ""
    parts = [form, user_id, channel, *(extra[k] for k in sorted(extra))]
    return {
        "channel_id": channel,
        "user_id": user_id,
        **extra,
        "sig": signature(key, *parts),
    }


def verified(
    key: bytes, form: str, data: Any, user_id: str, *, extra: tuple[str, ...] = ()
) -> dict[str, str]:
    """The `opened` data of a submitted form, if it is what the bot signed for this person
    and form; else UserError("form_tampered") (forged, altered, or someone else's)."""
    if not isinstance(data, dict):
        raise UserError("form_tampered")
    values = {name: data.get(name) for name in ("channel_id", "user_id", "sig", *extra)}
    if not all(isinstance(v, str) for v in values.values()):
        raise UserError("form_tampered")
    parts = [form, values["user_id"], values["channel_id"], *(values[k] for k in sorted(extra))]
    expected = signature(key, *parts)
    if values["user_id"] != user_id or not hmac.compare_digest(expected, values["sig"]):
        raise UserError("form_tampered")
    return values  # type: ignore[return-value]  # all str, checked above
