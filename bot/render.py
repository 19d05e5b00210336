"""Jinja2 environments: messages (in the neutral markup of `bot.delivery.messages`, user text
shielded) and letters and calendar feeds (plain text).

A message template writes `**bold**`, `_italic_`, `> ` quotes, `` `code` ``, `:emoji:`
shortcodes and lists with `• `; every `{{ value }}` it prints is shielded as typed text
unless the bot built it (`Markup`: people, channels, bot-written markup). A platform
renders the result in its own dialect (`Templates.in_dialect`): Slack's mrkdwn in
`handlers.slack.text`, Teams' Markdown in `handlers.teams.text`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from bot.delivery import messages
from bot.delivery.messages import PLAIN, Dialect
from bot.records import dates, ids

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _shield_finalize(value: Any) -> Any:
    # Every {{ value }} in a message is typed text unless we built it as Markup ourselves.
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return messages.shield(str(value))


def mention(user_id: str) -> Markup:
    """A person named by the bot (never from typed text)."""
    return Markup(messages.mention(user_id))


def channel_link(channel_id: str) -> Markup:
    """A channel or conversation named by the bot."""
    return Markup(messages.channel(channel_id))


def trusted(text: str) -> Markup:
    """Bot-written markup (help texts, a page of a rendered listing): printed as markup."""
    return Markup(text)


def table_cell(value: Any) -> Any:
    """A value in a cell of a Markdown table: a `|` in it escaped, so it cannot end the cell."""
    return value.replace("|", "\\|") if isinstance(value, str) else value


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
        progress_ref=ids.progress_ref,
        dated=dates.dated,
        welsh_date=dates.welsh_date,
    )
    return env


def _message_environment(root: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(root / "messages"),
        undefined=StrictUndefined,
        finalize=_shield_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters.update(
        mention=mention,
        channel=channel_link,
        trusted=trusted,
        entities=trusted,
        clip=clip,
        cell=table_cell,
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
    """Renders the named templates under `templates/` (messages, letters, calendar feeds).

    `message` writes in this object's dialect (plain words by default); `in_dialect`
    gives the same templates writing in a platform's.
    """

    def __init__(self, root: Path = TEMPLATES, dialect: Dialect = PLAIN) -> None:
        self.root = root
        self.dialect = dialect
        self.messages = _message_environment(root)
        self.letters = _letter_environment(root)
        self.calendars = _calendar_environment(root)
        self._dialects: dict[int, Templates] = {}

    def in_dialect(self, dialect: Dialect) -> Templates:
        """These templates (the same environments) rendering messages in `dialect`."""
        found = self._dialects.get(id(dialect))
        if found is None:
            found = Templates.__new__(Templates)
            found.__dict__.update(self.__dict__)
            found.dialect = dialect
            found._dialects = self._dialects
            self._dialects[id(dialect)] = found
        return found

    def neutral(self, name: str, /, **data: Any) -> str:
        """Render `templates/messages/<name>.j2` in the neutral markup (`bot.delivery.messages`)."""
        return self.messages.get_template(f"{name}.j2").render(**data).strip()

    def message(self, name: str, /, **data: Any) -> str:
        """Render `templates/messages/<name>.j2` in this object's dialect."""
        return self.dialect.render(self.neutral(name, **data))

    def letter(self, name: str, /, **data: Any) -> str:
        """Render `templates/letters/<name>.j2` as plain text."""
        return self.letters.get_template(f"{name}.j2").render(**data)

    def calendar(self, name: str, /, **data: Any) -> str:
        """Render `templates/calendar/<name>.j2` as plain text (a feed's name, summaries)."""
        return self.calendars.get_template(f"{name}.j2").render(**data)
