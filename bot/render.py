"""Jinja2 environments: Slack messages (user text escaped) and letters (plain text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from bot import dates, ids
from handlers.slack.text import escape, escape_entities

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _slack_finalize(value: Any) -> Any:
    # Every {{ value }} in a message is user-safe unless we built it as Markup ourselves.
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return escape(str(value))


def mention(user_id: str) -> Markup:
    """A Slack user mention built by the bot (never from typed text)."""
    return Markup(f"<@{user_id}>")


def channel_link(channel_id: str) -> Markup:
    """A Slack channel link built by the bot."""
    return Markup(f"<#{channel_id}>")


def entities(text: str) -> Markup:
    """Bot-written mrkdwn (formatting kept) with `<`, `>` and `&` shown as typed."""
    return Markup(escape_entities(text))


def trusted(text: str) -> Markup:
    """Mark bot-built mrkdwn as safe to put in a message unescaped."""
    return Markup(text)


def clip(value: Any, limit: int) -> Any:
    """User text cut to `limit` characters at a word, with an ellipsis: confirmations and
    announcements stay short enough for Slack to show whole (lists show the full text)."""
    if value is None or isinstance(value, Markup):
        return value
    text = str(value)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + " …"


def _common(env: Environment) -> Environment:
    env.filters.update(
        letter_date=dates.letter_date,
        letter_dates=dates.letter_dates,
        short_dates=dates.short_dates,
        activity_ref=ids.activity_ref,
        finding_ref=ids.finding_ref,
        note_ref=ids.note_ref,
        dated=dates.dated,
    )
    return env


def _message_environment(root: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(root / "messages"),
        undefined=StrictUndefined,
        finalize=_slack_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters.update(
        mention=mention, channel=channel_link, trusted=trusted, entities=entities, clip=clip
    )
    return _common(env)


def _letter_environment(root: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(root / "letters"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return _common(env)


def _calendar_environment(root: Path) -> Environment:
    # Plain text: icalendar escapes what RFC 5545 needs escaped.
    env = Environment(
        loader=FileSystemLoader(root / "calendar"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    return _common(env)


class Templates:
    """Renders the named templates under `templates/` (messages, letters, calendar feeds)."""

    def __init__(self, root: Path = TEMPLATES) -> None:
        self.root = root
        self.messages = _message_environment(root)
        self.letters = _letter_environment(root)
        self.calendars = _calendar_environment(root)

    def message(self, name: str, /, **data: Any) -> str:
        """Render `templates/messages/<name>.j2` as Slack mrkdwn; user text comes out escaped."""
        return self.messages.get_template(f"{name}.j2").render(**data).strip()

    def letter(self, name: str, /, **data: Any) -> str:
        """Render `templates/letters/<name>.j2` as plain text."""
        return self.letters.get_template(f"{name}.j2").render(**data)

    def calendar(self, name: str, /, **data: Any) -> str:
        """Render `templates/calendar/<name>.j2` as plain text (a feed's name, summaries)."""
        return self.calendars.get_template(f"{name}.j2").render(**data)
