"""The letter as a Word document, laid out by a Word template CIW owns (`CIW_LETTER_TEMPLATE`).

The template gives the page, the letterhead in the first page's header, the footer with
page numbers, and the styles; this module only fills the body: real headings, list
paragraphs for the activity lists, the address block and signature as one paragraph with
line breaks, Welsh paragraphs marked Welsh (cy-GB) for proofing, links as hyperlinks, and
a "DRAFT – version N" marking until the letter is approved.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from xml.sax.saxutils import escape, quoteattr

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

from bot.letters.render import Element, segments
from bot.letters.template import LetterTemplate, load_template

MARKING_STYLE = "CIW Draft Marking"
LINK_STYLE = "Hyperlink"
AUTHOR = "Care Inspectorate Wales"
WELSH = "cy-GB"
ENGLISH = "en-GB"

# Characters XML 1.0 cannot hold (typed text could carry them): dropped, not fatal.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return escape(_NOT_XML.sub("", text))


def _run(text: str, lang: str | None, style: str | None = None) -> str:
    properties = ""
    if style or lang:
        style_xml = f'<w:rStyle w:val="{style}"/>' if style else ""
        lang_xml = f'<w:lang w:val="{lang}"/>' if lang else ""
        properties = f"<w:rPr>{style_xml}{lang_xml}</w:rPr>"
    return f'<w:r>{properties}<w:t xml:space="preserve">{_clean(text)}</w:t></w:r>'


class _Builder:
    """Paragraph XML for one document (hyperlinks need the document's relationships)."""

    def __init__(self, document, template: LetterTemplate) -> None:
        self.part = document.part
        self.styles = template.style_ids
        self.link_style = template.style_ids.get(LINK_STYLE)

    def runs(self, lines: tuple[str, ...], lang: str | None) -> str:
        parts = []
        for number, line in enumerate(lines):
            for text, url in segments(line):
                if url is None:
                    parts.append(_run(text, lang))
                    continue
                rel = self.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
                style = self.link_style
                run = _run(text, lang, style)
                if style is None:
                    run = run.replace("<w:rPr>", '<w:rPr><w:u w:val="single"/>', 1)
                    if "<w:rPr>" not in run:
                        run = run.replace("<w:r>", '<w:r><w:rPr><w:u w:val="single"/></w:rPr>', 1)
                parts.append(f"<w:hyperlink r:id={quoteattr(rel)}>{run}</w:hyperlink>")
            if number < len(lines) - 1:
                parts.append("<w:r><w:br/></w:r>")
        return "".join(parts)

    def paragraph(self, lines: tuple[str, ...], style: str | None, lang: str | None) -> str:
        style_xml = f'<w:pStyle w:val="{style}"/>' if style else ""
        # An address, a signature or the Cc lines are never split over two pages.
        keep = "<w:keepLines/>" if len(lines) > 1 else ""
        # The paragraph mark carries the language too, so Word proofs the whole paragraph.
        mark = f'<w:rPr><w:lang w:val="{lang}"/></w:rPr>' if lang else ""
        inner = f"{style_xml}{keep}{mark}"
        properties = f"<w:pPr>{inner}</w:pPr>" if inner else ""
        return f"<w:p>{properties}{self.runs(lines, lang)}</w:p>"

    def element(self, element: Element) -> str:
        if element.kind == "heading":
            style = self.styles[f"Heading {min(max(element.level, 1), 3)}"]
        elif element.kind == "item":
            style = self.styles["List Bullet"]
        else:
            style = None
        return self.paragraph(element.lines, style, WELSH if element.lang == "cy" else None)


def _british_proofing(document) -> None:
    # Whatever the template says, the letter is proofed as British English.
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = parse_xml(f"<w:docDefaults {nsdecls('w')}/>")
        styles.insert(0, defaults)
    run_default = defaults.find(qn("w:rPrDefault"))
    if run_default is None:
        run_default = parse_xml(f"<w:rPrDefault {nsdecls('w')}><w:rPr/></w:rPrDefault>")
        defaults.insert(0, run_default)
    properties = run_default.find(qn("w:rPr"))
    if properties is None:
        properties = parse_xml(f"<w:rPr {nsdecls('w')}/>")
        run_default.append(properties)
    lang = properties.find(qn("w:lang"))
    if lang is None:
        lang = parse_xml(f"<w:lang {nsdecls('w')}/>")
        properties.append(lang)
    lang.set(qn("w:val"), ENGLISH)


def marking(version: int) -> str:
    """The marking a draft carries until it is approved."""
    return f"DRAFT \u2013 version {version}"


def to_docx(
    elements: list[Element],
    *,
    title: str,
    subject: str = "",
    template: LetterTemplate | None = None,
    version: int | None = None,
    approved: bool = False,
    now: dt.datetime | None = None,
) -> bytes:
    """The .docx of these elements, laid out by `template` (the shipped one when None).

    Until `approved`, a draft with a `version` number opens with "DRAFT – version N" and
    its properties say so; `title`/`subject` go in the document's properties, with the
    author, `now` as created and modified, and the version as revision.
    """
    template = template or load_template()
    document = Document(io.BytesIO(template.content))
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
    properties = document.core_properties
    properties.title = title
    properties.subject = subject
    properties.author = properties.last_modified_by = AUTHOR
    properties.comments = ""
    properties.keywords = "" if approved or version is None else marking(version)
    properties.category = "Local Authority Performance Review"
    properties.language = ENGLISH
    properties.created = properties.modified = now
    properties.revision = version or 1
    _british_proofing(document)

    build = _Builder(document, template)
    paragraphs = []
    if version is not None and not approved:
        # Every later page says so too (the first page's header is the letterhead).
        for section in document.sections:
            header = section.header
            mark = header.add_paragraph(marking(version))
            if MARKING_STYLE in template.style_ids:
                mark.style = document.styles[MARKING_STYLE]
        style = template.style_ids.get(MARKING_STYLE)
        text = (marking(version),)
        if style:
            paragraphs.append(build.paragraph(text, style, None))
        else:
            paragraphs.append(
                '<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:rPr><w:b/>'
                f'<w:color w:val="C00000"/></w:rPr><w:t>{_clean(text[0])}</w:t></w:r></w:p>'
            )
    # python-docx's add_paragraph costs ~1 ms a paragraph (style lookups, XPath for the
    # section break); a long letter's paragraphs are built as one XML fragment instead.
    paragraphs.extend(build.element(element) for element in elements)
    body = document.element.body
    # The template's own body (sample text, an empty paragraph) is layout's, not the letter's.
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    fragment = parse_xml(f"<w:body {nsdecls('w', 'r')}>{''.join(paragraphs)}</w:body>")
    section = body.sectPr
    for paragraph in list(fragment):
        if section is not None:
            section.addprevious(paragraph)
        else:
            body.append(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
