"""Structured logs: one JSON object a line, with tokens and secrets redacted as a last guard.

Request lines carry fields passed with `extra=` (`command`, `ms`, `outcome`, `status`, …);
the code never logs typed text, finding text or tokens, and the redaction filter makes
sure a Slack token or the signing secret that slipped into a message or a traceback is
masked anyway.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from typing import IO, Any

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_TOKEN = re.compile(r"\b(xox[abpersc]|xapp)-[A-Za-z0-9-]+")
REDACTED = "[redacted]"
ENV_SECRETS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DATABASE_URL",
    "TEAMS_APP_PASSWORD",
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
        """Rewrite the record's message, arguments, extras and traceback text; keep it."""
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            # Format the traceback now so the redacted text is what gets written.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """`{"ts": …, "level": …, "logger": …, "msg": …, <extras>, "exc": …}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON line for the record."""
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and value is not None:
                line[key] = value if isinstance(value, int | float | bool | str) else str(value)
        if record.exc_text or record.exc_info:
            line["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(
    level: str | int = logging.INFO,
    *,
    secrets: Iterable[str | None] | None = None,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send every log record to `stream` (stderr) as redacted JSON lines; the handler.

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
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    return handler


def configure_for(
    settings: Any, level: str | int = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """`configure` with the settings' token, app token and signing secret as secrets."""
    return configure(
        level=level,
        stream=stream,
        secrets=(settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret),
    )
