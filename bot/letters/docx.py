"""The letter as a Word document (python-docx): real headings, list paragraphs for the
activity lists, and the address block and signature as one paragraph with line breaks."""

from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape

from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.shared import Pt

from bot.letters.render import Element

# Characters XML 1.0 cannot hold (typed text could carry them): dropped, not fatal.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _runs(lines: tuple[str, ...]) -> str:
    parts = []
    for number, line in enumerate(lines):
        text = escape(_NOT_XML.sub("", line))
        brk = "<w:br/>" if number < len(lines) - 1 else ""
        parts.append(f'<w:r><w:t xml:space="preserve">{text}</w:t>{brk}</w:r>')
    return "".join(parts)


def to_docx(elements: list[Element], *, title: str, subject: str = "") -> bytes:
    """The .docx file of these elements; `title`/`subject` go in the document's properties."""
    document = Document()
    properties = document.core_properties
    properties.title = title
    properties.subject = subject
    properties.author = "Care Inspectorate Wales"
    styles = document.styles
    styles["Normal"].font.size = Pt(11)
    style_ids = {
        "item": styles["List Bullet"].style_id,
        1: styles["Heading 1"].style_id,
        2: styles["Heading 2"].style_id,
        3: styles["Heading 3"].style_id,
    }
    # python-docx's add_paragraph costs ~1 ms a paragraph (style lookups, XPath for the
    # section break); a long letter's paragraphs are built as one XML fragment instead.
    paragraphs = []
    for element in elements:
        if element.kind == "heading":
            style = style_ids[min(max(element.level, 1), 3)]
        elif element.kind == "item":
            style = style_ids["item"]
        else:
            style = None
        properties_xml = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
        paragraphs.append(f"<w:p>{properties_xml}{_runs(element.lines)}</w:p>")
    body = document.element.body
    fragment = parse_xml(f"<w:body {nsdecls('w')}>{''.join(paragraphs)}</w:body>")
    section = body.sectPr
    for paragraph in list(fragment):
        if section is not None:
            section.addprevious(paragraph)
        else:
            body.append(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
