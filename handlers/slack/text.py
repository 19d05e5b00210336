"""Text as Slack sends it to us and as we must send it back."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.delivery.messages import Dialect, mention, mention_parts, split_lines, split_words

if TYPE_CHECKING:
    from bot.render import Templates
    from bot.runtime import Runtime

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_MENTION_NAMED = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^|>]*)?(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_FORMATTING = re.compile(r"([*_~`])")

ZERO_WIDTH_SPACE = "\u200b"


def extract_mentions(text: str) -> tuple[str, list[str]]:
    """Take `<@U123|name>` mentions out of typed text: (the text without them, user ids)."""
    users: list[str] = []
    for user in _MENTION.findall(text):
        if user not in users:
            users.append(user)
    stripped = _MENTION.sub(" ", text)
    return re.sub(r"[ \t]{2,}", " ", stripped).strip(), users


def typed(text: str) -> str:
    """Slack's escaped text as the core takes typed text: the words as typed (`unescape`),
    each `<@U123|name>` mention as the neutral mention marker (`bot.delivery.messages.mention`)."""
    marked = _MENTION_NAMED.sub(lambda m: mention(m.group(1), m.group(2)), text)
    return unescape(marked)


def _link(match: re.Match[str]) -> str:
    url, label = match.group(1), match.group(2)
    if not label or label in (url, url.split(":", 1)[1].lstrip("/")):
        # A link Slack made of an address as typed (`gov.wales`): the text as typed.
        return label or url
    # A named link (`<https://…|report>`) keeps its address, written the Markdown way.
    return f"[{label}]({url})"


def unescape(text: str) -> str:
    """Slack's escaped text (`&lt;`, `<!here>`, `<#C1|name>`, `<url|label>`) as the user typed it.

    A user mention left in the text (`<@U123|alex>`) reads as `@alex`: stored text must not
    carry Slack markup into lists and letters. A named link becomes `[label](url)`, which
    the letter prints as a link.
    """
    text = _MENTION_NAMED.sub(lambda m: f"@{m.group(2) or m.group(1)}", text)
    text = _SPECIAL.sub(lambda m: m.group(2) or f"@{m.group(1)}", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _LINK.sub(_link, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape_entities(text: str) -> str:
    """Only Slack's three control characters as entities: the bot's own mrkdwn, shown as typed.

    For text we wrote (help, usage) whose `*bold*` and `code` must work but whose
    `<authority>` placeholders must not be read as links.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# A web or mail address in already entity-escaped text (`&amp;` may be part of it).
_URL = re.compile(r"(?:https?://|mailto:)(?:(?!&lt;|&gt;)[^\s|])+")
_URL_TAIL = ".,;:!?)]}'\"*~`"  # punctuation after an address, not part of it


def _defuse(text: str) -> str:
    text = _BROADCAST.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m.group(1), text)
    return _FORMATTING.sub(lambda m: m.group(1) + ZERO_WIDTH_SPACE, text)


def escape(text: str) -> str:
    """User text made inert in any Slack text field: no mention, broadcast or markup.

    `&`, `<`, `>` become entities (so `<!channel>` and `<@U123>` are shown, not acted on),
    `@channel`/`@here`/`@everyone` get a zero-width space after the `@`, and the mrkdwn
    markers `* _ ~ `` ` are followed by one so a letter never turns into formatting.
    A web address is sent as Slack's link `<https://…>`, whole: a zero-width space inside
    it would end the link early.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out, at = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_URL_TAIL)
        if len(url) <= len("mailto:"):
            continue
        out.append(_defuse(text[at : match.start()]))
        out.append(f"<{url}>")
        at = match.start() + len(url)
    out.append(_defuse(text[at:]))
    return "".join(out)


def visible(text: str) -> str:
    """What a person reads of escaped text: entities decoded, zero-width spaces gone."""
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return (
        text.replace(ZERO_WIDTH_SPACE, "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


# Slack's escapes and `<…>` links and mentions: a piece of text is never cut inside one.
_TOKEN = re.compile(r"&(?:amp|lt|gt);|<[^<>\n]*>")


def _inside_token(text: str, cut: int) -> int | None:
    """The start of the entity or `<…>` token that `cut` falls inside, if any."""
    start = text.rfind("\n", 0, cut) + 1  # tokens never span lines
    for match in _TOKEN.finditer(text, start, cut + 1000):
        if match.start() >= cut:
            break
        if match.start() < cut < match.end():
            return match.start()
    return None


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut between words; nothing is lost."""
    return split_words(text, limit, _inside_token)


def split_mrkdwn(text: str, limit: int) -> list[str]:
    """Escaped mrkdwn in pieces of at most `limit` characters: between lines where one
    fits, else between words, never inside an entity or a link (the one splitter of all
    long Slack text: sections, the letter, pages of lists)."""
    return split_lines(text, limit, _inside_token)


# -- the neutral markup (bot.delivery.messages) as mrkdwn -----------------------------------------
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")


def _line_markup(line: str) -> str:
    # A `> ` quote stays a quote; elsewhere Slack's three control characters are entities,
    # so the bot's own `<authority>` placeholders are shown, not read as links.
    quote = line.startswith("> ")
    body = line[2:] if quote else line
    body = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ("> " if quote else "") + body


def _markup(text: str) -> str:
    text = "\n".join(_line_markup(line) for line in text.split("\n"))
    text = _MD_LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    return _BOLD.sub(r"*\1*", text)


def _mention(inside: str) -> str:
    return f"<@{mention_parts(inside)[0]}>"


SLACK = Dialect(
    markup=_markup, escape=escape, mention=_mention, channel=lambda channel: f"<#{channel}>"
)


def mrkdwn(neutral: str) -> str:
    """Neutral markup (`bot.delivery.messages`) as Slack mrkdwn, typed text escaped."""
    return SLACK.render(neutral)


def templates(runtime: Runtime) -> Templates:
    """The runtime's templates writing Slack mrkdwn."""
    return runtime.templates.in_dialect(SLACK)


def typed_words(text: str) -> str:
    """Slack's escaped text as words to store (a review comment): `unescape`d, a person
    mentioned reading `@name`."""
    return unescape(text)
