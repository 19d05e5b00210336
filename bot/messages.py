"""What the bot wants said, before any chat platform shapes it.

The domain speaks in `Message`s: text in the neutral markup below, optional fields, and
actions (buttons) with an id the platform routes clicks by and a value it hands back.
`handlers/slack/` renders one as Block Kit and `handlers/teams/` as an Adaptive Card, each
with its own escaping and limits; nothing here knows either.

The neutral markup (what `bot.render.Templates.message` produces):

- `**bold**` and `_italic_`; `[label](https://…)` links; a line starting `• ` is a list
  item; lines are separated by `\\n`, paragraphs by a blank line.
- Text a person typed is shielded: it stands between `USER_START` and `USER_END`, and a
  platform escapes it with its own rules and never reads markup inside it.
- A person is `MENTION_START` + user id + `MENTION_END`; a channel or conversation is
  `CHANNEL_START` + its id + `CHANNEL_END`; a platform shows each its own way.

The markers are Unicode private-use characters, which nobody types into a command; the
shielding strips any that do arrive (`shield`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

USER_START, USER_END = "\ue000", "\ue001"
MENTION_START, MENTION_END = "\ue002", "\ue003"
CHANNEL_START, CHANNEL_END = "\ue004", "\ue005"
MARKERS = USER_START + USER_END + MENTION_START + MENTION_END + CHANNEL_START + CHANNEL_END
_STRIP_MARKERS = str.maketrans("", "", MARKERS)

PRIMARY, DANGER = "primary", "danger"


@dataclass(frozen=True)
class Action:
    """A button: `id` routes the click, `value` comes back with it, `style` is a hint."""

    id: str
    label: str
    value: str = ""
    style: str | None = None  # PRIMARY, DANGER or None


@dataclass(frozen=True)
class Field:
    """A label and its value, shown side by side where the platform can."""

    label: str
    value: str


@dataclass(frozen=True)
class Message:
    """One message: a heading (plain words), neutral-markup text, fields and buttons."""

    text: str
    heading: str | None = None
    fields: tuple[Field, ...] = ()
    actions: tuple[Action, ...] = field(default_factory=tuple)


def shield(value: str) -> str:
    """User text as the markup carries it: between the markers, any typed marker dropped."""
    return USER_START + value.translate(_STRIP_MARKERS) + USER_END


def mention(user_id: str) -> str:
    """A person, as the markup carries them."""
    return MENTION_START + user_id.translate(_STRIP_MARKERS) + MENTION_END


def channel(conversation_id: str) -> str:
    """A channel or conversation, as the markup carries it."""
    return CHANNEL_START + conversation_id.translate(_STRIP_MARKERS) + CHANNEL_END


_TOKENS = re.compile(
    f"{USER_START}(?P<user>[^{USER_END}]*){USER_END}"
    f"|{MENTION_START}(?P<mention>[^{MENTION_END}]*){MENTION_END}"
    f"|{CHANNEL_START}(?P<channel>[^{CHANNEL_END}]*){CHANNEL_END}"
)


@dataclass(frozen=True)
class Dialect:
    """How one platform writes the markup: what the bot wrote (`markup`), what a person
    typed (`escape`), and people and channels."""

    markup: Callable[[str], str]
    escape: Callable[[str], str]
    mention: Callable[[str], str]
    channel: Callable[[str], str]

    def render(self, text: str) -> str:
        """The neutral text in this dialect."""
        out: list[str] = []
        at = 0
        for match in _TOKENS.finditer(text):
            out.append(self.markup(text[at : match.start()]))
            if match.group("user") is not None:
                out.append(self.escape(match.group("user")))
            elif match.group("mention") is not None:
                out.append(self.mention(match.group("mention")))
            else:
                out.append(self.channel(match.group("channel")))
            at = match.end()
        out.append(self.markup(text[at:]))
        return "".join(out)


_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")


def _plain_markup(text: str) -> str:
    return _LINK.sub(r"\1 (\2)", _BOLD.sub(r"\1", text))


# Words for people: a terminal, a log line, a Word file.
PLAIN = Dialect(
    markup=_plain_markup,
    escape=lambda typed: typed,
    mention=lambda user_id: f"@{user_id}",
    channel=lambda conversation_id: f"#{conversation_id}",
)


def plain(text: str) -> str:
    """Neutral text as plain words (no markup)."""
    return PLAIN.render(text)
