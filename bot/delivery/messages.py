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

Typed text reaches the core the same way: a platform's adapter turns what its platform
sent into the words as typed, with each person mentioned as a mention marker.

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
    # Names the set of actions, so a platform can find it again (Slack's block_id).
    group: str | None = None


def shield(value: str) -> str:
    """User text as the markup carries it: between the markers, any typed marker dropped."""
    return USER_START + value.translate(_STRIP_MARKERS) + USER_END


def mention(user_id: str, name: str | None = None) -> str:
    """A person, as the markup carries them (`id|name` when the platform gave a name)."""
    inside = user_id if not name else f"{user_id}|{name}"
    return MENTION_START + inside.translate(_STRIP_MARKERS) + MENTION_END


_MENTION = re.compile(
    f"{MENTION_START}([^{MENTION_END}|]*)(?:\\|([^{MENTION_END}]*))?{MENTION_END}"
)


def extract_mentions(text: str) -> tuple[str, list[str]]:
    """Take the people out of typed text: (the text without them, their user ids in order)."""
    users: list[str] = []
    for user, _name in _MENTION.findall(text):
        if user not in users:
            users.append(user)
    stripped = _MENTION.sub(" ", text)
    return re.sub(r"[ \t]{2,}", " ", stripped).strip(), users


def typed_words(text: str) -> str:
    """Typed text as stored: a person left in it reads `@name` (or `@id`), no markers."""
    text = _MENTION.sub(lambda m: f"@{m.group(2) or m.group(1)}", text)
    return text.translate(_STRIP_MARKERS)


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
        """The neutral text in this dialect.

        The bot's markup is converted over the whole text at once, with each shielded
        value, person and channel held out as a placeholder (markup such as `**…**` may
        enclose them), then the placeholders are filled in, each rendered its own way.
        """
        filled: list[str] = []

        def hold(match: re.Match[str]) -> str:
            if match.group("user") is not None:
                filled.append(self.escape(match.group("user")))
            elif match.group("mention") is not None:
                filled.append(self.mention(match.group("mention")))
            else:
                filled.append(self.channel(match.group("channel")))
            return f"{_HOLD_START}{len(filled) - 1}{_HOLD_END}"

        converted = self.markup(_TOKENS.sub(hold, text))
        return _HELD.sub(lambda m: filled[int(m.group(1))], converted)


# Placeholders while the markup is converted: private-use too, digits between them.
_HOLD_START, _HOLD_END = "\ue010", "\ue011"
_HELD = re.compile(f"{_HOLD_START}(\\d+){_HOLD_END}")


def mention_parts(inside: str) -> tuple[str, str | None]:
    """A mention marker's content as (user id, name or None)."""
    user_id, _, name = inside.partition("|")
    return user_id, name or None


_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")


def _plain_markup(text: str) -> str:
    return _LINK.sub(r"\1 (\2)", _BOLD.sub(r"\1", text))


# Words for people: a terminal, a log line, a Word file.
PLAIN = Dialect(
    markup=_plain_markup,
    escape=lambda typed: typed,
    mention=lambda inside: "@" + (mention_parts(inside)[1] or mention_parts(inside)[0]),
    channel=lambda conversation_id: f"#{conversation_id}",
)


def plain(text: str) -> str:
    """Neutral text as plain words (no markup)."""
    return PLAIN.render(text)


# -- long text in pieces -------------------------------------------------------------------
# Where a cut would fall inside something that must stay whole: its start, else None.
Inside = Callable[[str, int], "int | None"]
_SPACE = re.compile(r"\s+")


def _cut_point(text: str, limit: int, inside: Inside) -> int:
    """Where to cut `text` (longer than `limit`): after the last space that fits, else at
    the limit; never inside what `inside` names."""
    spaces = [m for m in _SPACE.finditer(text, 0, limit + 1) if 0 < m.start() <= limit]
    for match in reversed(spaces):
        cut = match.end() if match.end() <= limit else match.start()
        if inside(text, cut) is None:
            return cut
    token = inside(text, limit)
    # A single token longer than a piece is cut anyway: better cut than lost.
    return token if token else limit


def split_words(text: str, limit: int, inside: Inside) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut between words; nothing is lost."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = _cut_point(text, limit, inside)
        piece, text = text[:cut].rstrip(), text[cut:].lstrip()
        if piece:
            pieces.append(piece)
    if text:
        pieces.append(text)
    return pieces


def split_lines(text: str, limit: int, inside: Inside) -> list[str]:
    """`text` in pieces of at most `limit` characters: between lines where one fits, else
    between words, never inside what `inside` names (every platform's one splitter)."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        parts = split_words(line, limit, inside) or [""]
        pieces.extend(parts[:-1])
        current = parts[-1]
    if current.strip():
        pieces.append(current)
    return pieces


_ATOM = re.compile(
    f"{MENTION_START}[^{MENTION_END}]*{MENTION_END}|{CHANNEL_START}[^{CHANNEL_END}]*{CHANNEL_END}"
)


def _inside_atom(text: str, cut: int) -> int | None:
    # The start of the person or channel marker that `cut` falls inside, if any.
    for match in _ATOM.finditer(text, max(0, cut - 400), cut + 400):
        if match.start() < cut < match.end():
            return match.start()
    return None


def _balanced(pieces: list[str]) -> list[str]:
    # A piece cut inside typed text closes its shield; the next one opens it again.
    out: list[str] = []
    carry = False
    for piece in pieces:
        if carry:
            piece = USER_START + piece
        carry = piece.rfind(USER_START) > piece.rfind(USER_END)
        out.append(piece + USER_END if carry else piece)
    return out


def split(text: str, limit: int) -> list[str]:
    """Neutral text in pieces of at most about `limit` characters: between lines where one
    fits, else between words, never inside a person or channel; nothing is lost."""
    return _balanced(split_lines(text, limit, _inside_atom))
