"""The letter as Slack Block Kit blocks, within Slack's limits.

Headings are set apart by size: the subject (level 1) is a header block, a section
heading (level 2) a bold section after a divider, a principle heading (level 3) a bold line
leading its first paragraph. The text between them goes into section blocks of at most
3,000 characters, split between paragraphs, else between words (a word longer than a
block is cut, never dropped). Links keep their address (`<url|label>`). A message holds at most 50 blocks: `messages()` splits a
list of blocks into the parent message and its continuations in the thread.
"""

from __future__ import annotations

from typing import Any

from bot.letters.render import Element, segments
from handlers.slack import text as slack_text
from handlers.slack.text import escape

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


def link(url: str, label: str) -> str:
    """A Slack link: the address as typed, the label escaped (a `|` would end the address)."""
    safe_url = url.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    safe_label = escape(label).replace("|", "\u2223")
    return f"<{safe_url}|{safe_label}>"


def escape_line(text: str) -> str:
    """A line of the letter made inert for Slack, its links kept as links."""
    return "".join(escape(t) if url is None else link(url, t) for t, url in segments(text))


def _chunk(element: Element) -> str:
    if element.kind == "item":
        return "• " + escape_line(element.text)
    return "\n".join(escape_line(line) for line in element.lines)


def bold(text: str) -> str:
    """Escaped text in bold (mrkdwn)."""
    return f"*{escape(text)}*"


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
    """The whole letter as blocks: the subject a header block, section headings bold after a
    divider, principle headings a bold line before their text, sections for the rest."""
    blocks: list[Block] = []
    pending: list[tuple[str, bool]] = []
    lead_in = ""  # a principle heading waiting to lead its first paragraph
    for element in elements:
        if element.kind == "heading" and element.level >= 3:
            if lead_in:
                pending.append((lead_in, False))
            lead_in = bold(element.text)
            continue
        if element.kind == "heading":
            if lead_in:
                pending.append((lead_in, False))
                lead_in = ""
            blocks.extend(text_blocks(pending))
            pending = []
            if element.level == 1 and len(element.text) <= HEADER_LIMIT:
                blocks.append(header(element.text))
                continue
            if element.level == 2:
                blocks.append({"type": "divider"})
            blocks.extend(
                section(f"*{p}*") for p in split_text(escape(element.text), SECTION_LIMIT - 2)
            )
            continue
        chunk = _chunk(element)
        if lead_in:
            joined = f"{lead_in}\n{chunk}"
            chunk, lead_in = (joined, "") if len(joined) <= SECTION_LIMIT else (chunk, lead_in)
            if lead_in:
                pending.append((lead_in, False))
                lead_in = ""
        pending.append((chunk, element.kind == "item"))
    if lead_in:
        pending.append((lead_in, False))
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
