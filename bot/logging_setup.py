"""Structured logs: one JSON object a line (`python-json-logger`), tokens and secrets
redacted, every field capped in length.

Request lines carry fields passed with `extra=` (`command`, `ms`, `outcome`, `status`, …);
the code never logs typed text, finding text or tokens: a field that could hold what
someone sent is a known name (`UNKNOWN` otherwise). Two guards make sure of the rest
whatever a caller forgets:

- `Redactor` masks a Slack token or a configured secret that slipped into a message, an
  extra or a traceback;
- `JsonFormatter` cuts every string field to `FIELD_CAP` characters and a traceback to
  `TRACEBACK_CAP`, each with a marker saying how much was cut, so no line is ever huge.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
import sys
from collections.abc import Iterable
from typing import IO, Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as LibraryJsonFormatter

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_TOKEN = re.compile(r"\b(xox[abpersc]|xapp)-[A-Za-z0-9-]+")
REDACTED = "[redacted]"
UNKNOWN = "unknown"  # logged instead of a name the code does not know (a typed word, a path)
ENV_SECRETS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DATABASE_URL",
    "TEAMS_APP_PASSWORD",
    "CIW_METRICS_TOKEN",
)
FIELD_CAP = 256  # characters of any one field (the message, an extra)
TRACEBACK_CAP = 8000  # characters of a traceback or stack: its start and, mostly, its end
_TRACEBACK_HEAD = 1500
_TRACES = ("exc", "stack")


def known(value: object, names: Iterable[str]) -> str:
    """`value` when it is one of `names`, else `UNKNOWN`: for a field that would otherwise
    hold whatever someone sent (a subcommand's name, a path, a method)."""
    return value if isinstance(value, str) and value in set(names) else UNKNOWN


# Shapes of identifiers that may be logged as they came: anything else is `UNKNOWN`.
GUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
NAME = re.compile(r"/?[a-z][a-z0-9_.]{0,63}")  # a platform's own word: `/ciw`, `block_actions`
NUMBER = re.compile(r"[0-9]{1,6}")


def shaped(value: object, shape: re.Pattern[str]) -> str:
    """`value` when it has the `shape` of an identifier (`GUID`, `NAME`, `NUMBER`), else
    `UNKNOWN`: for a field naming something a platform sent (a tenant, an event's type)."""
    return value if isinstance(value, str) and shape.fullmatch(value) else UNKNOWN


def cap(text: str, limit: int = FIELD_CAP) -> str:
    """`text` cut to `limit` characters, with a marker saying how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} more characters]"


def cap_traceback(text: str, limit: int = TRACEBACK_CAP) -> str:
    """A traceback cut to about `limit` characters: its first lines and its end (where the
    exception and the innermost frames are), with a marker between them."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return (
        f"{text[:_TRACEBACK_HEAD]}\n…[{cut} characters cut]…\n{text[-(limit - _TRACEBACK_HEAD) :]}"
    )


class Redactor(logging.Filter):
    """Masks Slack tokens (`xoxb-…`, `xapp-…`, …) and the given secrets in every record."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        """The text with tokens and secrets masked."""
        text = _TOKEN.sub(lambda m: f"{m.group(1)}-{REDACTED}", text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, arguments, extras, traceback and stack; keep it."""
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            # Format the traceback now so the redacted text is what gets written.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key in _STANDARD or value is None or isinstance(value, bool | int | float):
                continue
            # Anything else is written as its text: redact that text (a dict's too).
            setattr(record, key, self.redact(value if isinstance(value, str) else str(value)))
        return True


class JsonFormatter(LibraryJsonFormatter):
    """python-json-logger's formatter writing
    `{"ts": …, "level": …, "logger": …, "msg": …, <extras>, "exc": …}` on one line, every
    field capped (`FIELD_CAP`, `TRACEBACK_CAP`)."""

    def __init__(self, field_cap: int = FIELD_CAP, traceback_cap: int = TRACEBACK_CAP) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={
                "levelname": "level",
                "name": "logger",
                "message": "msg",
                "exc_info": "exc",
                "stack_info": "stack",
            },
            reserved_attrs=[*RESERVED_ATTRS, "taskName"],
            json_ensure_ascii=False,
        )
        self.field_cap = field_cap
        self.traceback_cap = traceback_cap

    def format(self, record: logging.LogRecord) -> str:
        """One JSON line for the record."""
        if not isinstance(record.msg, str):
            # The library would spread a dict's keys over the line: it is one message here.
            record.msg, record.args = record.getMessage(), None
        return super().format(record)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        """The time first (UTC, milliseconds), then the library's fields and the extras."""
        log_data["ts"] = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, message_dict)
        log_data["level"] = record.levelname.lower()

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """Every field capped: text (and whatever is written as text) to `field_cap`
        characters, a traceback to `traceback_cap`; extras that are None left out."""
        line: dict[str, Any] = {}
        for key, value in log_data.items():
            if value is None or key in _TRACES:
                continue
            if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
                line[key] = value
            else:
                line[key] = cap(value if isinstance(value, str) else str(value), self.field_cap)
        for key in _TRACES:  # last, as a reader expects them
            value = log_data.get(key)
            if value:
                text = value if isinstance(value, str) else "\n".join(map(str, value))
                line[key] = cap_traceback(text, self.traceback_cap)
        return line


def configure(
    level: str | int = logging.INFO,
    *,
    secrets: Iterable[str | None] | None = None,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send every log record to `stream` (stderr) as redacted, capped JSON lines; the handler.

    `secrets` default to the Slack tokens and signing secret in the environment.
    """
    if secrets is None:
        secrets = [os.environ.get(name) for name in ENV_SECRETS]
    if isinstance(level, str):
        level = logging.getLevelName(level.upper())
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(Redactor(secrets))
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Bolt and slack_sdk log request bodies (typed text) at DEBUG: never below INFO for them.
    for name in ("slack_bolt", "slack_sdk", "urllib3"):
        logging.getLogger(name).setLevel(max(logging.INFO, level))
    return handler


def configure_for(
    settings: Any, level: str | int = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """`configure` with the settings' tokens, secrets and passwords as secrets."""
    return configure(
        level=level,
        stream=stream,
        secrets=(
            settings.slack_bot_token,
            settings.slack_app_token,
            settings.slack_signing_secret,
            settings.teams_app_password,
            settings.metrics_token,
        ),
    )
