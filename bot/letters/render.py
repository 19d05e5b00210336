"""Rendering a `Letter`: Jinja2 templates produce letter markup, parsed into elements that
become plain text, Markdown, Word (`bot.letters.docx`) or Slack blocks (`handlers.slack.letter_blocks`).

Letter markup is plain text: a blank line ends a paragraph, the lines of one paragraph
stay together (the address block, the signature), `# `, `## `, `### ` start a heading and
`- ` a list item. A paragraph starting `@cy ` is in Welsh (the Word file marks it so). A
line (or list item) starting with a backslash is taken literally without it: the `lead`
filter puts one before user text that would otherwise read as markup. `[label](https://…)`
in a line is a link: each output writes it its own way, keeping the address.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.letters.assemble import Letter
from bot.render import Templates

Kind = Literal["heading", "paragraph", "item"]
_HEADING = re.compile(r"^(#{1,3}) (.*)$")
_MARKUP_START = ("#", "-", "\\", "@")
_WELSH = "@cy "
LINK = re.compile(r"\[([^\[\]\n]+)\]\(((?:https?|mailto):[^()\s]+)\)")


def segments(text: str) -> list[tuple[str, str | None]]:
    """Text cut into (text, None) and (label, url) pieces at its links, in order."""
    out: list[tuple[str, str | None]] = []
    position = 0
    for match in LINK.finditer(text):
        if match.start() > position:
            out.append((text[position : match.start()], None))
        out.append((match.group(1), match.group(2)))
        position = match.end()
    if position < len(text):
        out.append((text[position:], None))
    return out


@dataclass(frozen=True)
class Element:
    """One piece of the letter: a heading (level 1-3), a paragraph (its lines) or a list item.

    `lang` is None for the letter's own language (British English; Welsh in the Welsh
    letter of an issued one), `"cy"` for Welsh, `"en"` for English (what a Welsh letter
    keeps in English). Only None and "cy" are written in letter markup.
    """

    kind: Kind
    lines: tuple[str, ...]
    level: int = 0
    lang: str | None = None

    @property
    def text(self) -> str:
        """The element's text, its lines joined by newlines."""
        return "\n".join(self.lines)


def lead(text: str) -> str:
    """User text made safe to start a markup line: a backslash before a markup character."""
    text = str(text)
    return "\\" + text if text.startswith(_MARKUP_START) else text


def join_names(names: tuple[str, ...] | list[str]) -> str:
    """`Audit Wales, Estyn and HIW`."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def markup(templates: Templates, letter: Letter) -> str:
    """The letter in letter markup, from `templates/letters/letter.j2`."""
    # The letter environment is shared; these two filters are the letter markup's own.
    templates.letters.filters.setdefault("lead", lead)
    templates.letters.filters.setdefault("join_names", join_names)
    return templates.letter("letter", letter=letter)


def _literal(line: str) -> str:
    return line[1:] if line.startswith("\\") else line


def parse(text: str) -> list[Element]:
    """Letter markup → elements, in order."""
    elements: list[Element] = []
    paragraph: list[str] = []
    lang: list[str | None] = [None]

    def flush() -> None:
        if paragraph:
            elements.append(Element("paragraph", tuple(paragraph), lang=lang[0]))
            paragraph.clear()
        lang[0] = None

    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            flush()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            elements.append(Element("heading", (heading.group(2).strip(),), len(heading.group(1))))
        elif line.startswith("- "):
            flush()
            elements.append(Element("item", (_literal(line[2:].strip()),)))
        elif not paragraph and line.startswith(_WELSH):
            lang[0] = "cy"
            paragraph.append(_literal(line[len(_WELSH) :]))
        else:
            paragraph.append(_literal(line))
    flush()
    return elements


def elements_of(templates: Templates, letter: Letter) -> list[Element]:
    """The letter's elements."""
    return parse(markup(templates, letter))


def _join(
    elements: list[Element], render_one: Callable[[Element], str], item_gap: str = "\n"
) -> str:
    out: list[str] = []
    previous: Element | None = None
    for element in elements:
        if previous is not None:
            together = previous.kind == "item" and element.kind == "item"
            out.append(item_gap if together else "\n\n")
        out.append(render_one(element))
        previous = element
    return "".join(out) + "\n"


def plain(text: str) -> str:
    """A line as plain text: a link as `label (address)`."""
    return "".join(label if url is None else f"{label} ({url})" for label, url in segments(text))


def to_text(elements: list[Element]) -> str:
    """The letter as plain text: headings as plain lines, list items as `- item`."""

    def one(element: Element) -> str:
        if element.kind == "item":
            return f"- {plain(element.text)}"
        return "\n".join(plain(line) for line in element.lines)

    return _join(elements, one)


_MD_SPECIAL = re.compile(r"([\\`*_~\[\]<>#|])")


def md_escape(text: str) -> str:
    """Text inert in Markdown: no emphasis, links, headings or HTML from what was typed."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # A line starting "1. " or "- " or "+ " would become a list.
    return re.sub(r"^(\d+)\. ", r"\1\\. ", re.sub(r"^([-+]) ", r"\\\1 ", text))


def _md_line(text: str) -> str:
    # Escaped text, links written as Markdown links (their address kept as typed).
    out = []
    for number, (label, url) in enumerate(segments(text)):
        escaped = _MD_SPECIAL.sub(r"\\\1", label)
        if url is not None:
            out.append(f"[{escaped}]({url})")
        else:
            out.append(md_escape(label) if number == 0 else escaped)
    return "".join(out)


def to_markdown(elements: list[Element]) -> str:
    """The letter as Markdown: real headings and lists, lines of a paragraph kept apart."""

    def one(element: Element) -> str:
        if element.kind == "heading":
            return "#" * element.level + " " + md_escape(element.text)
        if element.kind == "item":
            return "- " + _md_line(element.text)
        # Two trailing spaces: a hard line break, so the address block keeps its lines.
        return "  \n".join(_md_line(line) for line in element.lines)

    return _join(elements, one)


def to_markup(elements: list[Element]) -> str:
    """Elements back to letter markup (what a draft version stores as its body)."""

    def one(element: Element) -> str:
        if element.kind == "heading":
            return "#" * element.level + " " + element.text
        if element.kind == "item":
            return "- " + lead(element.text)
        lines = [lead(line) for line in element.lines]
        if element.lang == "cy":
            lines[0] = _WELSH + element.lines[0]
        return "\n".join(lines)

    return _join(elements, one)
