"""The `/ciw` subcommands' argument grammar: typed text in, plain values out.

Parsers raise UserError naming what was wrong; they never touch the database
(authorities are returned as typed and resolved by the caller).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.delivery.messages import extract_mentions, typed_words
from bot.errors import UserError
from bot.records import dates, ids
from bot.records.dates import ReviewYear, When
from db.models import ActivityStatus, FindingKind, Language, NoteSection, Principle, Service

MAX_COMMAND = 12000

SERVICES = {
    "children": Service.CHILDREN,
    "child": Service.CHILDREN,
    "childrens": Service.CHILDREN,
    "children's": Service.CHILDREN,
    "adults": Service.ADULTS,
    "adult": Service.ADULTS,
    "adults'": Service.ADULTS,
    "both": Service.BOTH,
}
PRINCIPLES = {
    "well-being": Principle.WELL_BEING,
    "wellbeing": Principle.WELL_BEING,
    "people": Principle.PEOPLE,
    "prevention": Principle.PREVENTION,
    "partnerships": Principle.PARTNERSHIPS,
    "partnership": Principle.PARTNERSHIPS,
}
KINDS = {
    "strength": FindingKind.STRENGTH,
    "strengths": FindingKind.STRENGTH,
    "improvement": FindingKind.IMPROVEMENT,
    "improvements": FindingKind.IMPROVEMENT,
}
LANGUAGES = {"en": Language.EN, "cy": Language.CY, "both": Language.BOTH}
NOTE_SECTIONS = {
    "intro": NoteSection.INTRO,
    "introduction": NoteSection.INTRO,
    "plan": NoteSection.PLAN,
    **{word: NoteSection(principle.value) for word, principle in PRINCIPLES.items()},
}
# `--postponed` / `--cancelled` in log-activity; Slack on a Mac turns a typed `--` into an
# em dash, so `—postponed` is read the same.
STATUS_FLAGS = {"postponed": ActivityStatus.POSTPONED, "cancelled": ActivityStatus.CANCELLED}
_FLAG_PREFIXES = ("--", "\u2014", "\u2013")
ACTIVITY_FIELDS = ("title", "details", "service", "dates")


def clean(text: str) -> str:
    """Typed command text (as the platform's adapter gave it), length-checked, as stored."""
    if len(text) > MAX_COMMAND:
        raise UserError("too_long", what="command", limit=MAX_COMMAND, length=len(text))
    return typed_words(text).strip()


def words(text: str, count: int) -> tuple[list[str], str]:
    """The first `count` words and the rest of the text."""
    parts = text.split(None, count)
    head, rest = parts[:count], parts[count] if len(parts) > count else ""
    return head, rest


def parse_service(word: str) -> Service:
    """`children`, `adults` or `both`."""
    service = SERVICES.get(word.lower())
    if service is None:
        raise UserError("unknown_service", value=word)
    return service


def parse_principle(word: str) -> Principle:
    """`well-being`, `people`, `prevention` or `partnerships`."""
    principle = PRINCIPLES.get(word.lower())
    if principle is None:
        raise UserError("unknown_principle", value=word)
    return principle


def parse_kind(word: str) -> FindingKind:
    """`strength` or `improvement`."""
    kind = KINDS.get(word.lower())
    if kind is None:
        raise UserError("unknown_kind", value=word)
    return kind


def split_reason(text: str) -> tuple[str, str | None]:
    """`head | reason` → (head, reason or None)."""
    head, sep, reason = text.partition("|")
    return head.strip(), (reason.strip() or None) if sep else None


@dataclass(frozen=True)
class LogActivity:
    authority: str
    service: Service
    when: When
    title: str
    details: str | None
    inspectors: list[str] = field(default_factory=list)
    status: ActivityStatus | None = None  # postponed or cancelled as it happened
    reason: str | None = None


def _status_flag(word: str) -> ActivityStatus | None:
    for prefix in _FLAG_PREFIXES:
        if word.startswith(prefix):
            name = word[len(prefix) :].lstrip("-\u2014\u2013").lower()
            if name in STATUS_FLAGS:
                return STATUS_FLAGS[name]
            if prefix == "--" and name.isalpha():
                # `--delayed`: meant as a flag, but not one we know.
                raise UserError("unknown_status_flag", value=word)
    # A dash in a title (`Cyfarfod — gwasanaethau plant`) is text.
    return None


def split_status(title: str) -> tuple[str, ActivityStatus | None, str | None]:
    """`<title> [--postponed|--cancelled [<reason>]]` → (title, status or None, reason)."""
    tokens = title.split()
    for position, word in enumerate(tokens):
        status = _status_flag(word)
        if status is None:
            continue
        reason = " ".join(tokens[position + 1 :]) or None
        if reason and any(_status_flag(w) for w in tokens[position + 1 :]):
            raise UserError("two_status_flags")
        return " ".join(tokens[:position]), status, reason
    return title, None, None


def parse_log_activity(text: str) -> LogActivity:
    """`<authority> <service> <when> <title> [--postponed|--cancelled [<reason>]] [| <details>]`;
    mentions become inspectors."""
    text, inspectors = extract_mentions(text)
    text = clean(text)
    (head, rest) = words(text, 3)
    if len(head) < 1:
        raise UserError("usage", subcommand="log-activity")
    if len(head) < 2:
        raise UserError("missing_service")
    service = parse_service(head[1])
    if len(head) < 3 or not dates.looks_like_when(head[2]):
        raise UserError("missing_when")
    when = dates.parse_when(head[2])
    title, details = split_reason(rest)
    title, status, reason = split_status(title)
    if not title:
        raise UserError("missing_title")
    return LogActivity(head[0], service, when, title, details, inspectors, status, reason)


@dataclass(frozen=True)
class LogFinding:
    authority: str
    year: ReviewYear | None
    principle: Principle
    kind: FindingKind
    service: Service | None
    activity_id: int | None
    text: str


def parse_log_finding(text: str) -> LogFinding:
    """`<authority> [<year>] <principle> <strength|improvement> [<service>] [A<id>] <text>`."""
    text = clean(text)
    tokens = text.split()
    if not tokens:
        raise UserError("usage", subcommand="log-finding")
    authority, position = tokens[0], 1
    year = None
    if position < len(tokens) and (dates.looks_like_year(tokens[position])):
        year = dates.parse_year(tokens[position])
        position += 1
    if position >= len(tokens):
        raise UserError("missing_principle")
    principle = parse_principle(tokens[position])
    position += 1
    if position >= len(tokens):
        raise UserError("missing_kind")
    kind = parse_kind(tokens[position])
    position += 1
    service = None
    if position < len(tokens) and tokens[position].lower() in SERVICES:
        service = SERVICES[tokens[position].lower()]
        position += 1
    activity_id = None
    if position < len(tokens) and ids.looks_like_id(tokens[position], "A"):
        activity_id = ids.parse_id(tokens[position], "A")[1]
        position += 1
    _, rest = words(text, position)
    if not rest.strip():
        raise UserError("missing_finding_text")
    return LogFinding(authority, year, principle, kind, service, activity_id, rest.strip())


def parse_authority_and_year(text: str, subcommand: str) -> tuple[str, ReviewYear | None]:
    """`<authority> [<year>]`."""
    tokens = clean(text).split()
    if not tokens:
        raise UserError("usage", subcommand=subcommand)
    if len(tokens) > 2:
        raise UserError("usage", subcommand=subcommand)
    year = dates.parse_year(tokens[1]) if len(tokens) == 2 else None
    return tokens[0], year


def split_page(text: str) -> tuple[str, int]:
    """`… [page <n>]` at the end of a listing's arguments: (the rest, the page; 1 by default)."""
    tokens = clean(text).split()
    if len(tokens) >= 2 and tokens[-2].lower() == "page":
        number = tokens[-1]
        if not number.isdigit() or not 1 <= int(number) <= 10_000:
            raise UserError("bad_page", value=number)
        return " ".join(tokens[:-2]), int(number)
    if tokens and tokens[-1].lower() == "page":
        raise UserError("bad_page", value="")
    return " ".join(tokens), 1


def parse_days(text: str) -> int:
    """`[<days>]` for upcoming: 1 to 366, default 30."""
    text = clean(text)
    if not text:
        return 30
    if not text.isdigit() or not 1 <= int(text) <= 366:
        raise UserError("bad_days", value=text)
    return int(text)


@dataclass(frozen=True)
class Lifecycle:
    activity_id: int
    when: When | None
    reason: str | None


def parse_lifecycle(text: str, action: str) -> Lifecycle:
    """`A<id> <when> [| reason]` (reschedule), `A<id> [| reason]` (postpone, cancel), `A<id>`."""
    head, reason = split_reason(clean(text))
    tokens = head.split()
    if not tokens:
        raise UserError("usage", subcommand=action)
    activity_id = ids.parse_id(tokens[0], "A")[1]
    when = None
    if action == "reschedule":
        if len(tokens) < 2:
            raise UserError("missing_when")
        when = dates.parse_when(tokens[1])
        extra = tokens[2:]
    else:
        extra = tokens[1:]
    if extra:
        raise UserError("usage", subcommand=action)
    if action == "complete" and reason:
        raise UserError("usage", subcommand=action)
    return Lifecycle(activity_id, when, reason)


@dataclass(frozen=True)
class Edit:
    """What `edit` changes: a finding's, note's or progress's text, or one field of an
    activity."""

    kind: str  # "A", "F", "N" or "P"
    record_id: int
    field: str  # "text" for findings, notes and progress; an ACTIVITY_FIELDS name for activities
    value: str | Service | When | None


# What each kind of record with a text is refused with when the new text is missing.
_MISSING_TEXT = {
    "F": "missing_finding_text",
    "N": "missing_note_text",
    "P": "missing_progress_text",
}


def parse_edit(text: str) -> Edit:
    """`F<id> <text>`, `N<id> <text>`, `P<id> <text>`, or
    `A<id> title|details|service|dates <value>` (`details -` clears the details)."""
    text = clean(text)
    head, rest = words(text, 1)
    if not head:
        raise UserError("usage", subcommand="edit")
    kind, record_id = ids.parse_id(head[0], "AFNP")
    rest = rest.strip()
    if kind in _MISSING_TEXT:
        if not rest:
            raise UserError(_MISSING_TEXT[kind], subcommand="edit")
        return Edit(kind, record_id, "text", rest)
    (what, value) = words(rest, 1)
    if not what or what[0].lower() not in ACTIVITY_FIELDS:
        raise UserError("unknown_activity_field", value=what[0] if what else "")
    name, value = what[0].lower(), value.strip()
    if not value:
        raise UserError("missing_activity_value", field=name)
    if name == "service":
        return Edit(kind, record_id, name, parse_service(value))
    if name == "dates":
        if len(value.split()) != 1:
            raise UserError("missing_activity_value", field=name)
        return Edit(kind, record_id, name, dates.parse_when(value))
    if name == "details" and value == "-":
        return Edit(kind, record_id, name, None)
    return Edit(kind, record_id, name, value)


def parse_remove(text: str) -> tuple[str, int]:
    """`A<id>`, `F<id>`, `N<id>` or `P<id>`."""
    tokens = clean(text).split()
    if len(tokens) != 1:
        raise UserError("usage", subcommand="remove")
    return ids.parse_id(tokens[0], "AFNP")


@dataclass(frozen=True)
class AddNote:
    authority: str
    year: ReviewYear | None
    section: NoteSection
    text: str


def parse_note(text: str) -> AddNote:
    """`<authority> [<year>] intro|plan|well-being|people|prevention|partnerships <text>`."""
    text = clean(text)
    tokens = text.split()
    if not tokens:
        raise UserError("usage", subcommand="note")
    position, year = 1, None
    if position < len(tokens) and dates.looks_like_year(tokens[position]):
        year = dates.parse_year(tokens[position])
        position += 1
    if position >= len(tokens):
        raise UserError("missing_note_section")
    section = NOTE_SECTIONS.get(tokens[position].lower())
    if section is None:
        raise UserError("unknown_note_section", value=tokens[position])
    _, rest = words(text, position + 1)
    if not rest.strip():
        raise UserError("missing_note_text")
    return AddNote(tokens[0], year, section, rest.strip())


@dataclass(frozen=True)
class AddProgress:
    finding_id: int
    year: ReviewYear | None
    text: str


def parse_progress(text: str) -> AddProgress:
    """`F<id> [<year>] <text>`: the area for improvement answered, the year the progress
    belongs to (checked against the finding by the caller), and the paragraph."""
    text = clean(text)
    tokens = text.split()
    if not tokens:
        raise UserError("usage", subcommand="progress")
    finding_id = ids.parse_id(tokens[0], "F")[1]
    position, year = 1, None
    if position < len(tokens) and dates.looks_like_year(tokens[position]):
        year = dates.parse_year(tokens[position])
        position += 1
    _, rest = words(text, position)
    if not rest.strip():
        raise UserError("missing_progress_text")
    return AddProgress(finding_id, year, rest.strip())


@dataclass(frozen=True)
class AuthorityChange:
    authority: str
    field: str | None = None
    value: str | None = None


def parse_authority(text: str) -> AuthorityChange:
    """`<authority> [director <name> | address <line; line> | language en|cy|both]`."""
    text = clean(text)
    head, rest = words(text, 2)
    if not head:
        raise UserError("usage", subcommand="authority")
    if len(head) == 1:
        return AuthorityChange(head[0])
    field_name = head[1].lower()
    value = rest.strip()
    if field_name not in {"director", "address", "language"}:
        raise UserError("unknown_authority_field", value=head[1])
    if not value:
        raise UserError("missing_authority_value", field=field_name)
    if field_name == "language" and value.lower() not in LANGUAGES:
        raise UserError("unknown_language", value=value)
    if field_name == "address":
        lines = [line.strip() for line in value.split(";") if line.strip()]
        if not lines or len(lines) > 8 or any(len(line) > 120 for line in lines):
            raise UserError("bad_address")
        value = "\n".join(lines)
    if field_name == "director" and len(value) > 120:
        raise UserError("too_long", what="director", limit=120, length=len(value))
    return AuthorityChange(
        head[0], field_name, value.lower() if field_name == "language" else value
    )


@dataclass(frozen=True)
class Issue:
    """`issue <authority> [<year>] [<date>]`."""

    authority: str
    year: ReviewYear | None
    on: dt.date | None


def parse_issue(text: str) -> Issue:
    """`<authority> [<year>] [<date>]`: a year is `2019-20`, a date `YYYY-MM-DD` or
    `DD/MM/YYYY` (the date the letter is dated; default today)."""
    tokens = clean(text).split()
    if not tokens or len(tokens) > 3:
        raise UserError("usage", subcommand="issue")
    year: ReviewYear | None = None
    on: dt.date | None = None
    for token in tokens[1:]:
        if dates.looks_like_year(token) and year is None and on is None:
            year = dates.parse_year(token)
        elif on is None:
            on = dates.parse_date(token)
        else:
            raise UserError("usage", subcommand="issue")
    return Issue(tokens[0], year, on)


@dataclass(frozen=True)
class Publish:
    """`publish <authority> [<year>] <url>`."""

    authority: str
    year: ReviewYear | None
    url: str


def parse_publish(text: str) -> Publish:
    """`<authority> [<year>] <url>`: the address is checked by the caller
    (`bot.review.issuing.check_url`)."""
    tokens = clean(text).split()
    if len(tokens) < 2 or len(tokens) > 3:
        raise UserError("usage", subcommand="publish")
    year = dates.parse_year(tokens[1]) if len(tokens) == 3 else None
    return Publish(tokens[0], year, tokens[-1])


@dataclass(frozen=True)
class OverviewArgs:
    """`overview [<year>] [csv]`."""

    year: ReviewYear | None
    csv: bool


def parse_overview(text: str) -> OverviewArgs:
    """`[<year>] [csv]`, in either order: the overview covers every authority, so anything
    else (an authority, another format) is refused naming the word."""
    year: ReviewYear | None = None
    csv = False
    for token in clean(text).split():
        if token.lower() == "csv" and not csv:
            csv = True
        elif token[:1].isdigit() and year is None:
            year = dates.parse_year(token)  # `2019-21`, `2019`: says how a year is written
        else:
            raise UserError("overview_usage", value=token)
    return OverviewArgs(year, csv)
