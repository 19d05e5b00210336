"""The letter as Slack Block Kit blocks, within Slack's limits.

Headings become header blocks; the text between them goes into section blocks of at most
3,000 characters, split between paragraphs, else between words (a word longer than a
block is cut, never dropped). A message holds at most 50 blocks: `messages()` splits a
list of blocks into the parent message and its continuations in the thread.
"""

from __future__ import annotations

from typing import Any

from bot import slack_text
from bot.letters.render import Element
from bot.slack_text import escape

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
MESSAGE_BLOCKS = 50

Block = dict[str, Any]


def section(text: str) -> Block:
    """A mrkdwn section block (the text must already be escaped)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def header(text: str) -> Block:
    """A header block (plain text: nothing in it is a mention or formatting)."""
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": False}}


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut between words; nothing is lost."""
    return slack_text.split_text(text, limit)


def _chunk(element: Element) -> str:
    if element.kind == "item":
        return "• " + escape(element.text)
    return "\n".join(escape(line) for line in element.lines)


def text_blocks(chunks: list[tuple[str, bool]]) -> list[Block]:
    """Section blocks from escaped chunks `(text, is_list_item)`, packed up to the limit.

    Consecutive list items are joined by a newline, other chunks by a blank line; a chunk
    too long for one block is split between words.
    """
    blocks: list[Block] = []
    current = ""
    previous_item = False
    for text, is_item in chunks:
        glue = "\n" if (is_item and previous_item) else "\n\n"
        if current and len(current) + len(glue) + len(text) <= SECTION_LIMIT:
            current += glue + text
        else:
            if current:
                blocks.append(section(current))
            pieces = split_text(text)
            blocks.extend(section(p) for p in pieces[:-1])
            current = pieces[-1] if pieces else ""
        previous_item = is_item
    if current:
        blocks.append(section(current))
    return blocks


def letter_blocks(elements: list[Element]) -> list[Block]:
    """The whole letter as blocks: header blocks for headings, sections for the rest."""
    blocks: list[Block] = []
    pending: list[tuple[str, bool]] = []
    for element in elements:
        if element.kind == "heading":
            blocks.extend(text_blocks(pending))
            pending = []
            if len(element.text) <= HEADER_LIMIT:
                blocks.append(header(element.text))
            else:
                blocks.extend(
                    section(f"*{p}*") for p in split_text(escape(element.text), SECTION_LIMIT - 2)
                )
        else:
            pending.append((_chunk(element), element.kind == "item"))
    blocks.extend(text_blocks(pending))
    return blocks


def messages(blocks: list[Block], *, first_capacity: int = MESSAGE_BLOCKS) -> list[list[Block]]:
    """Blocks shared out over messages: `first_capacity` in the first, 50 in each after."""
    first, rest = blocks[:first_capacity], blocks[first_capacity:]
    return [first] + [rest[i : i + MESSAGE_BLOCKS] for i in range(0, len(rest), MESSAGE_BLOCKS)]


def visible_text(blocks: list[Block]) -> str:
    """The text a reader sees in these blocks (for checks and fallbacks)."""
    out = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            out.append(text.get("text", ""))
    return "\n".join(out)
