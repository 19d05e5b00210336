"""Text as the bot writes it for Teams: the neutral markup (`bot.delivery.messages`) as the Markdown
Teams renders in Adaptive Card TextBlocks and FactSets.

What Teams renders (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format,
"Format cards with Markdown"; https://learn.microsoft.com/adaptive-cards/create/textfeatures):
`**bold**`, `_italic_`, `- ` bulleted and `1. ` numbered lists (items separated by `\\n`),
`[label](url)` links, in TextBlock text and Fact title/value; "HTML isn't supported in
Adaptive Cards"; the parser is a CommonMark subset, so CommonMark's backslash escapes
and character references (`&lt;`) hold. A line break needs a blank line (`\\n\\n`) outside
lists. Adaptive Cards also expand `{{DATE(…)}}` / `{{TIME(…)}}` in any TextBlock.

The bot's markup (`_markup`): `• ` list lines become `- `, Slack-style `:emoji:` shortcodes
(what `templates/messages/*.j2` write) become the emoji, `` `code` `` becomes plain text
(cards have no code spans), `**…**`, `_…_`, links and `> ` quotes stay (`handlers.teams.cards` shows a quote line as an emphasised container, since
cards have no quotes); `&`, `<`, `>` elsewhere become entities (the templates' `<name>`
placeholders are shown, never taken for HTML).

Typed text (`escape`) can never become markup, a link or a mention:
- `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;`: no HTML, no `<at>…</at>`, no `<https://…>`
  autolink, and a typed `&lt;` is shown as typed;
- the Markdown characters `\\ * _ ~ ` [ ] { }` are backslash-escaped, and so is a line's
  first character when it would start a block (`#`, `-`, `+`, `=`, `1.`), so no emphasis,
  link, list, heading or `{{DATE()}}` can be made of it;
- a word joiner (U+2060, invisible) follows every `@` and every scheme's `:` before `//`
  and `www`, so no client turns a typed address or e-mail into a link, and `@channel`,
  `@team`, `@everyone` are words. (In Teams only a mention entity notifies anybody,
  and the bot sends none for typed text.)

People (mention markers carry a user id, an Entra object id for Teams users, and maybe
`|name`) are shown by name: the marker's, else the one the bot knows (`TeamsMember`,
through `directory(session)`), else `@` and the id. Channels by the name the bot knows
(`TeamsConversation.name`), else "this channel".
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.delivery.messages import Dialect, mention_parts

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.render import Templates
    from bot.runtime import Runtime

WORD_JOINER = "\u2060"  # invisible, not a space: keeps `@` and `://` from forming anything

# The shortcodes templates/messages/*.j2 use, and a few more of Slack's common ones.
EMOJI = {
    "alarm_clock": "\u23f0",
    "arrows_counterclockwise": "\U0001f504",
    "double_vertical_bar": "\u23f8\ufe0f",
    "hourglass": "\u231b",
    "no_entry_sign": "\U0001f6ab",
    "page_facing_up": "\U0001f4c4",
    "spiral_calendar_pad": "\U0001f5d3\ufe0f",
    "warning": "\u26a0\ufe0f",
    "white_check_mark": "\u2705",
    "zzz": "\U0001f4a4",
    "calendar": "\U0001f4c6",
    "memo": "\U0001f4dd",
    "bell": "\U0001f514",
    "x": "\u274c",
    "heavy_check_mark": "\u2714\ufe0f",
    "information_source": "\u2139\ufe0f",
}
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")

# -- typed text ------------------------------------------------------------------------------
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_INLINE = re.compile(r"([\\*_~`\[\]{}])")
# A line's start that CommonMark would read as a block: heading, list, setext underline.
_BLOCK_START = re.compile(r"^([ \t]*)([#\-+=]|\d+[.)])", re.M)
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)")
_WWW = re.compile(r"(?i)\b(www)(?=\.)")


def _block_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[-1] in ".)":
        return f"{indent}{marker[:-1]}\\{marker[-1]}"
    return f"{indent}\\{marker}"


def escape(text: str) -> str:
    """Text a person typed, made inert in Teams Markdown (see the module docstring)."""
    text = _INLINE.sub(r"\\\1", text)
    text = _BLOCK_START.sub(_block_start, text)
    text = text.translate(_ENTITIES)
    text = text.replace("@", "@" + WORD_JOINER)
    text = _SCHEME.sub(lambda m: m.group(1) + ":" + WORD_JOINER, text)
    return _WWW.sub(lambda m: m.group(1) + WORD_JOINER, text)


_UNESCAPE = re.compile(r"\\([\\*_~`\[\]{}#\-+=.)!<>&|(])")


def visible(markdown: str) -> str:
    """What a person reads of the Markdown the bot wrote: escapes, entities and word joiners
    gone, links as their label (for summaries, logs and tests)."""
    markdown = re.sub(
        r"(?<!\\)\[((?:\\.|[^\]\\\n])*)\]\((?:https?|mailto):[^)\s]*\)", r"\1", markdown
    )
    markdown = re.sub(r"\*\*(.+?)\*\*", r"\1", markdown)
    markdown = re.sub(r"(?<![\\\w])_(.+?)(?<!\\)_(?!\w)", r"\1", markdown)
    markdown = _UNESCAPE.sub(r"\1", markdown).replace(WORD_JOINER, "")
    return markdown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# -- who and where: names the bot knows ----------------------------------------------------
@dataclass
class Directory:
    """Names of people and channels, looked up once each (`directory(session)`)."""

    person: Callable[[str], str | None] = lambda _: None
    channel: Callable[[str], str | None] = lambda _: None
    _people: dict[str, str | None] = field(default_factory=dict)
    _channels: dict[str, str | None] = field(default_factory=dict)

    def name_of(self, user_id: str) -> str | None:
        if user_id not in self._people:
            self._people[user_id] = self.person(user_id)
        return self._people[user_id]

    def channel_name(self, conversation_id: str) -> str | None:
        if conversation_id not in self._channels:
            self._channels[conversation_id] = self.channel(conversation_id)
        return self._channels[conversation_id]


_DIRECTORY: ContextVar[Directory | None] = ContextVar("teams_directory", default=None)


def directory_of(session: Session) -> Directory:
    """Names from the records: `TeamsMember.name` by Entra object id, `TeamsConversation.name`
    by conversation id."""
    from db.models import TeamsConversation, TeamsMember

    def person(user_id: str) -> str | None:
        member = session.get(TeamsMember, user_id)
        return member.name if member is not None and member.name else None

    def channel(conversation_id: str) -> str | None:
        found = session.get(TeamsConversation, conversation_id.partition(";messageid=")[0])
        return found.name if found is not None and found.name else None

    return Directory(person=person, channel=channel)


@contextlib.contextmanager
def names(found: Directory | Session) -> Iterator[Directory]:
    """Within this block, people and channels are shown with these names."""
    directory = found if isinstance(found, Directory) else directory_of(found)
    token = _DIRECTORY.set(directory)
    try:
        yield directory
    finally:
        _DIRECTORY.reset(token)


def person_name(user_id: str, name: str | None = None) -> str | None:
    """A person's name: the one given, else the one known in this block, else None."""
    if name:
        return name
    directory = _DIRECTORY.get()
    return directory.name_of(user_id) if directory is not None else None


def _mention(inside: str) -> str:
    user_id, name = mention_parts(inside)
    known = person_name(user_id, name)
    return escape(known) if known else escape("@" + user_id)


def _channel(conversation_id: str) -> str:
    directory = _DIRECTORY.get()
    known = directory.channel_name(conversation_id) if directory is not None else None
    return escape(known) if known else "this channel"


# -- the bot's markup ---------------------------------------------------------------------------
def _emoji(match: re.Match[str]) -> str:
    return EMOJI.get(match.group(1), match.group(0))


_CODE = re.compile(r"`([^`\n]+)`")
_CODE_INLINE = re.compile(r"([\\*_~\[\]{}])")


def _code(match: re.Match[str]) -> str:
    # Cards have no code spans (and CommonMark would show the templates' `&lt;` inside one
    # as typed): the command as plain text, its Markdown characters escaped.
    return _CODE_INLINE.sub(r"\\\1", match.group(1))


def _line_markup(line: str) -> str:
    # A `>` starting a line is the bot's quote; elsewhere `&`, `<`, `>` are entities, so
    # the templates' `<name>` placeholders are shown, never read as HTML.
    quote = ">" if line.startswith(">") else ""
    line = line[len(quote) :].translate(_ENTITIES)
    if line.startswith("• "):
        line = "- " + line[2:]
    return quote + _CODE.sub(_code, _SHORTCODE.sub(_emoji, line))


def _markup(text: str) -> str:
    return "\n".join(_line_markup(line) for line in text.split("\n"))


TEAMS = Dialect(markup=_markup, escape=escape, mention=_mention, channel=_channel)


def markdown(neutral: str) -> str:
    """Neutral markup (`bot.delivery.messages`) as Teams Markdown, typed text escaped."""
    return TEAMS.render(neutral)


def templates(runtime: Runtime) -> Templates:
    """The runtime's templates writing Teams Markdown."""
    return runtime.templates.in_dialect(TEAMS)
