"""Adaptive Cards as data: what the bot sends Teams, built as plain dicts.

Every card is an Adaptive Card 1.5 (https://adaptivecards.io/explorer/AdaptiveCard.html:
`type` "AdaptiveCard", `version`, `$schema`; Teams supports 1.5 for bots,
https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-reference)
sent as the activity's one attachment (`application/vnd.microsoft.card.adaptive`). Text
goes in wrapped TextBlocks (Markdown, see `handlers.teams.text`), label/value pairs in a
FactSet, buttons as `Action.Execute` (the Universal Action Model: Teams sends the bot an
`adaptiveCard/action` invoke with the action's `verb` and `data`; inputs on the card, or
in the `Action.ShowCard` holding the button, are merged into `data` by their ids).

Size. Teams refuses an activity whose JSON, encoded as UTF-16, is over its limit (413
`MessageSizeTooBig`; https://learn.microsoft.com/microsoftteams/platform/bots/how-to/format-your-bot-messages,
and `tests.handlers.teams.double.MESSAGE_LIMIT`, which holds the strictest figure it has been,
28 KB). `activity_size` measures as Teams does; `pack` and `message_activities` share
long text out over several activities that each fit `BUDGET` (the limit less room for
what the SDK adds: `from`, `conversation`, the activity id of an update). The sender
measures the finished activity once more before sending.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.delivery.messages import DANGER, PRIMARY, Message
from handlers.teams.text import escape, markdown, visible

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Teams' limit on one activity, UTF-16 bytes (see the module docstring and the double).
MESSAGE_LIMIT = 28 * 1024
# What a card's activity may take before the SDK adds `from` and `conversation` (a
# conversation id is at most 255 characters; the bot's id is its app id).
BUDGET = MESSAGE_LIMIT - 2048
# The outbox key of the message, in the activity's channelData (`handlers.teams.sender`).
KEY_PROPERTY = "ciw_outbox"
# The id of the reason box of a "Request changes" button: its text comes back as
# `data["reason"]` with the Action.Execute invoke.
REASON_INPUT = "reason"
SUMMARY_LIMIT = 200

Card = dict[str, Any]
Block = dict[str, Any]

_STYLES = {PRIMARY: "positive", DANGER: "destructive"}


# -- elements --------------------------------------------------------------------------
def text_block(text: str, **extra: Any) -> Block:
    """A wrapped TextBlock of Markdown (already in Teams' dialect)."""
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def heading_block(words: str) -> Block:
    """A heading: plain words, large and bold (nothing in it is read as Markdown)."""
    return text_block(escape(words), size="Large", weight="Bolder", style="heading")


_LIST_ITEM = re.compile(r"^(?:- |\d+\. )")
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")


def _join(lines: list[str]) -> str:
    # List items are separated by one newline (Teams' lists); other lines need a blank
    # line to break at all.
    out = lines[0]
    for before, line in itertools.pairwise(lines):
        both_items = _LIST_ITEM.match(before) and _LIST_ITEM.match(line)
        out += ("\n" if both_items else "\n\n") + line
    return out


def blocks_of(text: str) -> list[Block]:
    """Teams Markdown as card elements: a TextBlock per paragraph, a quote line (`>`, only
    ever the bot's: typed `>` is escaped) in an emphasised container."""
    blocks: list[Block] = []
    for paragraph in _PARAGRAPHS.split(text.strip("\n")):
        start = len(blocks)
        pending: list[str] = []
        for line in (line for line in paragraph.split("\n") if line.strip()):
            if line.startswith(">"):
                if pending:
                    blocks.append(text_block(_join(pending)))
                    pending = []
                quoted = line[1:].lstrip()
                blocks.append(
                    {"type": "Container", "style": "emphasis", "items": [text_block(quoted)]}
                )
            else:
                pending.append(line)
        if pending:
            blocks.append(text_block(_join(pending)))
        if start and len(blocks) > start:
            blocks[start]["spacing"] = "Medium"
    return blocks


def execute(
    title: str,
    verb: str,
    value: str,
    *,
    style: str | None = None,
    inputs: str | None = None,
    action_id: str | None = None,
) -> Block:
    """An Action.Execute button: `verb` routes the click, `data` = {"value", "verb"}."""
    action: Block = {
        "type": "Action.Execute",
        "id": action_id or verb,
        "title": title,
        "verb": verb,
        "data": {"value": value, "verb": verb},
    }
    if style in _STYLES:
        action["style"] = _STYLES[style]
    if inputs is not None:
        action["associatedInputs"] = inputs  # "auto" or "none"
    return action


def reason_action(
    title: str,
    verb: str,
    value: str,
    *,
    label: str,
    placeholder: str,
    missing: str,
    submit: str,
    limit: int,
    style: str | None = None,
) -> Block:
    """A button that opens a reason box on the card and sends it with `verb`
    (`data[REASON_INPUT]`); the box is required (left empty, Teams shows `missing` under
    it and sends nothing) and holds at most `limit` characters."""
    shown = card_of(
        [
            {
                "type": "Input.Text",
                "id": REASON_INPUT,
                "label": label,
                "placeholder": placeholder,
                "isMultiline": True,
                "isRequired": True,
                "errorMessage": missing,
                "maxLength": limit,
            }
        ],
        [execute(submit, verb, value, style=style, inputs="auto", action_id=f"{verb}:send")],
        top_level=False,
    )
    return {"type": "Action.ShowCard", "id": f"{verb}:open", "title": title, "card": shown}


def card_of(
    body: Sequence[Block], actions: Sequence[Block] = (), *, top_level: bool = True
) -> Card:
    """An Adaptive Card 1.5 of these elements and actions (full width in Teams)."""
    card: Card = {"type": "AdaptiveCard", "version": VERSION}
    if top_level:
        card = {"$schema": SCHEMA, **card, "msteams": {"width": "Full"}}
    card["body"] = list(body)
    if actions:
        card["actions"] = list(actions)
    return card


def _actions(message: Message) -> list[Block]:
    return [execute(a.label, a.id, a.value, style=a.style) for a in message.actions]


def _facts(message: Message) -> Block:
    return {
        "type": "FactSet",
        "facts": [{"title": markdown(f.label), "value": markdown(f.value)} for f in message.fields],
    }


def card(message: Message) -> Card:
    """A neutral message as one card: its heading large and bold, its text in wrapped
    TextBlocks, its fields a FactSet, its actions Action.Execute buttons."""
    body: list[Block] = [heading_block(message.heading)] if message.heading else []
    body += blocks_of(markdown(message.text))
    if message.fields:
        body.append(_facts(message))
    return card_of(body, _actions(message))


# -- activities and their size ---------------------------------------------------------------
def summary_of(text: str) -> str:
    """A card's notification line: the first words of its Markdown, as read."""
    first = next((line for line in visible(text).splitlines() if line.strip()), "")
    first = first.strip().lstrip("-> ").strip()
    return first if len(first) <= SUMMARY_LIMIT else first[: SUMMARY_LIMIT - 1].rstrip() + "…"


def activity(content: Card, *, key: str | None = None, summary: str | None = None) -> dict:
    """A message activity carrying one card (and the outbox key in its channelData)."""
    made: dict[str, Any] = {
        "type": "message",
        "attachments": [{"contentType": CONTENT_TYPE, "content": content}],
    }
    if summary:
        made["summary"] = summary
    if key:
        made["channelData"] = {KEY_PROPERTY: key}
    return made


def activity_size(value: Any) -> int:
    """How big Teams counts an activity: its JSON encoded as UTF-16, in bytes."""
    return len(json.dumps(value, ensure_ascii=False).encode("utf-16-le"))


def _text_size(text: str) -> int:
    return activity_size(text) - 4  # without the quotes


# A piece of Markdown never cut inside: a link, an escape, an entity; then spaces and words.
_TOKEN = re.compile(
    r"\[(?:\\.|[^\]\\\n])*\]\([^)\s]*\)|\\.|&(?:[A-Za-z]+|#\d+);|\s+|[^\s\\&\[]+|.", re.S
)


def split_markdown(text: str, limit: int) -> list[str]:
    """Markdown in pieces whose JSON takes at most `limit` UTF-16 bytes each: between
    paragraphs, else lines, else words; never inside a link, an escape or an entity (a
    single one longer than a piece is cut anyway: better cut than lost)."""
    if _text_size(text) <= limit:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for token in _TOKEN.findall(text):
        token_size = _text_size(token)
        if current and size + token_size > limit:
            # Cut at the last break in the piece (a paragraph, else a line, else a space).
            cut = _last_break(current)
            if cut:
                carry = current[cut:]
                pieces.append("".join(current[:cut]).rstrip())
                current = [t for t in carry]
                while current and current[0].isspace():
                    current.pop(0)
            else:
                pieces.append("".join(current).rstrip())
                current = []
            size = sum(_text_size(t) for t in current)
        while token_size > limit:  # one token longer than a whole piece
            head = token
            while _text_size(head) > limit:
                head = head[: max(1, len(head) * 3 // 4)]
            pieces.append(head)
            token = token[len(head) :]
            token_size = _text_size(token)
        if token:
            current.append(token)
            size += token_size
    if "".join(current).strip():
        pieces.append("".join(current).strip())
    return [p for p in pieces if p.strip()]


def _last_break(tokens: list[str]) -> int:
    for wanted in ("\n\n", "\n", " "):
        for index in range(len(tokens) - 1, 0, -1):
            if tokens[index].isspace() and wanted in tokens[index]:
                return index
    return 0


def fit_block(block: Block, limit: int) -> list[Block]:
    """A TextBlock (or a container of one) too big for `limit` bytes as several."""
    if activity_size(block) <= limit:
        return [block]
    if block.get("type") == "TextBlock":
        overhead = activity_size({**block, "text": ""})
        return [{**block, "text": p} for p in split_markdown(block["text"], limit - overhead)]
    if block.get("type") == "Container" and len(block.get("items", [])) == 1:
        inner = block["items"][0]
        overhead = activity_size({**block, "items": []}) - 4
        return [{**block, "items": [b]} for b in fit_block(inner, limit - overhead)]
    return [block]  # nothing else the bot makes is ever this big


def pack(
    blocks: Sequence[Block],
    wrap: Callable[[list[Block], int], dict],
    *,
    budget: int | None = None,
    first_margin: int = 0,
) -> list[list[Block]]:
    """Share `blocks` out over activities: `wrap(blocks, index)` makes activity `index`
    (0 first) of them, and each must stay within `budget` bytes (the first within
    `budget - first_margin`, room kept for text whose length may change, names). A block
    too big even alone is cut first. Each list is one activity's blocks, in order."""
    budget = BUDGET if budget is None else budget
    groups: list[list[Block]] = []
    current: list[Block] = []
    for block in blocks:
        limit = budget - (first_margin if not groups else 0)
        room = limit - activity_size(wrap([], len(groups))) - 4
        for piece in fit_block(block, room):
            if current and activity_size(wrap([*current, piece], len(groups))) > limit:
                groups.append(current)
                current = []
                limit = budget
            current.append(piece)
    if current or not groups:
        groups.append(current)
    return groups


def message_activities(
    message: Message, *, key: str | None = None, budget: int | None = None
) -> list[dict]:
    """A neutral message as one activity, or, when it is too big for one, as several that
    each fit: the heading on the first, the fields and buttons on the last."""
    budget = BUDGET if budget is None else budget
    whole = card(message)
    text = markdown(message.text)
    summary = summary_of(message.heading or text)
    single = activity(whole, key=key, summary=summary)
    if activity_size(single) <= budget:
        return [single]
    body: list[Block] = [heading_block(message.heading)] if message.heading else []
    body += blocks_of(text)
    tail: list[Block] = [_facts(message)] if message.fields else []
    actions = _actions(message)

    def wrap(blocks: list[Block], index: int) -> dict:
        return activity(card_of(blocks), key=key, summary=summary)

    groups = pack(body, wrap, budget=budget - activity_size(actions) - activity_size(tail))
    groups[-1] += tail
    made = [activity(card_of(g), key=key, summary=summary) for g in groups]
    made[-1]["attachments"][0]["content"] = card_of(groups[-1], actions)
    return made


# -- the draft's review card -----------------------------------------------------------------
def review_card(
    *,
    title: str,
    text: str,
    value: str,
    labels: Mapping[str, str],
    approve: str,
    request_changes: str,
    reason_missing: str,
    new_version: str | None = None,
    reason_limit: int = 3000,
) -> Card:
    """A review card: the title (plain words), `text` (Teams Markdown: version, status,
    approvals, what the letter still lacks), and the buttons Approve / Request changes
    (which opens a required reason box, sent as `data[REASON_INPUT]`; `reason_missing` is
    what it says left empty) / New version, each an Action.Execute whose `data.value` is
    `value` (the version's or revision's id)."""
    actions = [
        execute(labels["approve"], approve, value, style=PRIMARY, inputs="none"),
        reason_action(
            labels["request_changes"],
            request_changes,
            value,
            label=labels.get("reason_label", labels["request_changes"]),
            placeholder=labels.get("reason_hint", ""),
            missing=reason_missing,
            submit=labels.get("modal_submit", labels["request_changes"]),
            limit=reason_limit,
            style=DANGER,
        ),
    ]
    if new_version:
        actions.append(execute(labels["new_version"], new_version, value, inputs="none"))
    return card_of([heading_block(title), *blocks_of(text)], actions)
