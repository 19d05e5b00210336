"""Text as Slack sends it to us and as we must send it back."""

from __future__ import annotations

import re

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


def unescape(text: str) -> str:
    """Slack's escaped text (`&lt;`, `<!here>`, `<#C1|name>`, `<url|label>`) as the user typed it.

    A user mention left in the text (`<@U123|alex>`) reads as `@alex`: stored text must not
    carry Slack markup into lists and letters.
    """
    text = _MENTION_NAMED.sub(lambda m: f"@{m.group(2) or m.group(1)}", text)
    text = _SPECIAL.sub(lambda m: m.group(2) or f"@{m.group(1)}", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape_entities(text: str) -> str:
    """Only Slack's three control characters as entities: the bot's own mrkdwn, shown as typed.

    For text we wrote (help, usage) whose `*bold*` and `code` must work but whose
    `<authority>` placeholders must not be read as links.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """User text made inert in any Slack text field: no mention, broadcast or markup.

    `&`, `<`, `>` become entities (so `<!channel>` and `<@U123>` are shown, not acted on),
    `@channel`/`@here`/`@everyone` get a zero-width space after the `@`, and the mrkdwn
    markers `* _ ~ `` ` are followed by one so a letter never turns into formatting.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _BROADCAST.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m.group(1), text)
    return _FORMATTING.sub(lambda m: m.group(1) + ZERO_WIDTH_SPACE, text)


def visible(text: str) -> str:
    """What a person reads of escaped text: entities decoded, zero-width spaces gone."""
    return (
        text.replace(ZERO_WIDTH_SPACE, "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )
