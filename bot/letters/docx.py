"""The letter as a Word document, laid out by a Word template CIW owns (`CIW_LETTER_TEMPLATE`).

The template gives the page, the letterhead in the first page's header, the footer with
page numbers, and the styles; this module only fills the body: real headings, the lists as
Word lists (each item numbered through the List Bullet style's bullet definition), the
address block and signature as one paragraph with line breaks, links as hyperlinks, and a
"DRAFT – version N" marking until the letter is approved.

A letter is in English (`language="en"`) or Welsh (`"cy"`: the Welsh letter of an issued
one). Every paragraph says its language, on its mark and on each run, so Word proofs it
and a screen reader speaks it right: the letter's own language unless the element says
otherwise (the Welsh statement of an English letter, what a Welsh letter left in English).
The template's header and footer text takes the letter's language unless the template
marks it (the shipped letterhead marks its Welsh and English columns); a Welsh letter's
footer says "Tudalen N o M". The document's properties are in the letter's language.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

from bot.letters.render import Element, segments
from bot.letters.template import LetterTemplate, load_template

MARKING_STYLE = "CIW Draft Marking"
LINK_STYLE = "Hyperlink"
LIST_STYLE = "List Bullet"
WELSH = "cy-GB"
ENGLISH = "en-GB"
LANGUAGES = {"en": ENGLISH, "cy": WELSH}


@dataclass(frozen=True)
class House:
    """What the document says of itself in one language: its author, its category, and the
    words of the template's "Page N of M" footer."""

    author: str
    category: str
    footer_words: tuple[str, ...]


HOUSE = {
    "en": House("Care Inspectorate Wales", "Local Authority Performance Review", ("Page", "of")),
    "cy": House(
        "Arolygiaeth Gofal Cymru", "Adolygiad Perfformiad Awdurdod Lleol", ("Tudalen", "o")
    ),
}

# Characters XML 1.0 cannot hold (typed text could carry them): dropped, not fatal.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return escape(_NOT_XML.sub("", text))


def _run(text: str, lang: str, style: str | None = None, underline: bool = False) -> str:
    style_xml = f'<w:rStyle w:val="{style}"/>' if style else ""
    underline_xml = '<w:u w:val="single"/>' if underline else ""
    properties = f'<w:rPr>{style_xml}{underline_xml}<w:lang w:val="{lang}"/></w:rPr>'
    return f'<w:r>{properties}<w:t xml:space="preserve">{_clean(text)}</w:t></w:r>'


class _Builder:
    """Paragraph XML for one document (hyperlinks need the document's relationships)."""

    def __init__(self, document, template: LetterTemplate, language: str, list_id: str) -> None:
        self.part = document.part
        self.styles = template.style_ids
        self.link_style = template.style_ids.get(LINK_STYLE)
        self.language = LANGUAGES[language]
        self.list_id = list_id

    def runs(self, lines: tuple[str, ...], lang: str) -> str:
        parts = []
        for number, line in enumerate(lines):
            for text, url in segments(line):
                if url is None:
                    parts.append(_run(text, lang))
                    continue
                rel = self.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
                style = self.link_style
                # Without the template's link style a link is still seen to be one.
                run = _run(text, lang, style, underline=style is None)
                parts.append(f"<w:hyperlink r:id={quoteattr(rel)}>{run}</w:hyperlink>")
            if number < len(lines) - 1:
                parts.append(f'<w:r><w:rPr><w:lang w:val="{lang}"/></w:rPr><w:br/></w:r>')
        return "".join(parts)

    def paragraph(
        self, lines: tuple[str, ...], style: str | None, lang: str, listed: bool = False
    ) -> str:
        style_xml = f'<w:pStyle w:val="{style}"/>' if style else ""
        # An address, a signature or the Cc lines are never split over two pages.
        keep = "<w:keepLines/>" if len(lines) > 1 else ""
        # A list item says which list it is in, not only through its style: a reader (or
        # a checker) sees a real list whatever the template's style holds.
        numbering = (
            f'<w:numPr><w:ilvl w:val="0"/><w:numId w:val="{self.list_id}"/></w:numPr>'
            if listed
            else ""
        )
        # The paragraph mark carries the language too, so Word proofs the whole paragraph
        # and text typed into it later is in the same language.
        mark = f'<w:rPr><w:lang w:val="{lang}"/></w:rPr>'
        properties = f"<w:pPr>{style_xml}{keep}{numbering}{mark}</w:pPr>"
        return f"<w:p>{properties}{self.runs(lines, lang)}</w:p>"

    def element(self, element: Element) -> str:
        lang = LANGUAGES.get(element.lang or "", self.language)
        if element.kind == "heading":
            style = self.styles[f"Heading {min(max(element.level, 1), 3)}"]
        elif element.kind == "item":
            return self.paragraph(element.lines, self.styles[LIST_STYLE], lang, listed=True)
        else:
            style = None
        return self.paragraph(element.lines, style, lang)


def _proofing(document, language: str) -> None:
    # Whatever the template says, the letter is proofed in its own language (British
    # English or Welsh): what nothing else marks is in it.
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = parse_xml(f"<w:docDefaults {nsdecls('w')}/>")
        styles.insert(0, defaults)
    run_default = defaults.find(qn("w:rPrDefault"))
    if run_default is None:
        run_default = parse_xml(f"<w:rPrDefault {nsdecls('w')}><w:rPr/></w:rPrDefault>")
        defaults.insert(0, run_default)
    _set_lang(run_default, LANGUAGES[language])


def _style_lang(styles: dict[str, object], style_id: str | None) -> str | None:
    # The language a style (or one it is based on) gives its text, if any.
    seen = set()
    while style_id and style_id not in seen:
        seen.add(style_id)
        style = styles.get(style_id)
        if style is None:
            return None
        found = style.find(f"{qn('w:rPr')}/{qn('w:lang')}")
        if found is not None and found.get(qn("w:val")):
            return found.get(qn("w:val"))
        based = style.find(qn("w:basedOn"))
        style_id = based.get(qn("w:val")) if based is not None else None
    return None


def _own_lang(properties) -> str | None:
    found = properties.find(qn("w:lang")) if properties is not None else None
    return found.get(qn("w:val")) if found is not None and found.get(qn("w:val")) else None


def _insert(parent, child, *successors: str) -> None:
    # Word reads properties only in the schema's order: before the first that follows it.
    for name in successors:
        after = parent.find(qn(name))
        if after is not None:
            after.addprevious(child)
            return
    parent.append(child)


def _set_lang(parent, lang: str) -> None:
    """Give a run's properties (or a paragraph mark's) this language, creating them if needed."""
    properties = parent.find(qn("w:rPr"))
    if properties is None:
        properties = parse_xml(f"<w:rPr {nsdecls('w')}/>")
        if parent.tag == qn("w:pPr"):
            _insert(parent, properties, "w:sectPr", "w:pPrChange")
        else:
            parent.insert(0, properties)
    found = properties.find(qn("w:lang"))
    if found is None:
        found = parse_xml(f"<w:lang {nsdecls('w')}/>")
        _insert(properties, found, "w:eastAsianLayout", "w:specVanish", "w:oMath", "w:rPrChange")
    found.set(qn("w:val"), lang)


def _headers_and_footers(document):
    """The XML of every header and footer the document has (their parts, not sections')."""
    kinds = (RELATIONSHIP_TYPE.HEADER, RELATIONSHIP_TYPE.FOOTER)
    for rel in document.part.rels.values():
        if rel.reltype in kinds and not rel.is_external:
            yield rel.reltype == RELATIONSHIP_TYPE.FOOTER, rel.target_part.element


def _template_text(document, language: str) -> None:
    """Mark the language of every paragraph of the template's headers and footers.

    What the template marks (or its styles do) keeps its language; anything else is in the
    letter's. A paragraph mark the template leaves unmarked takes its text's language when
    all its text is in one. A Welsh letter's footer words ("Page", "of") are in Welsh.
    """
    styles = {s.get(qn("w:styleId")): s for s in document.styles.element.iter(qn("w:style"))}
    words = dict(zip(HOUSE["en"].footer_words, HOUSE[language].footer_words, strict=True))
    own = LANGUAGES[language]

    def style_of(properties, tag: str) -> str | None:
        found = properties.find(qn(tag)) if properties is not None else None
        return _style_lang(styles, found.get(qn("w:val")) if found is not None else None)

    for is_footer, root in _headers_and_footers(document):
        for paragraph in root.iter(qn("w:p")):
            p_pr = paragraph.find(qn("w:pPr"))
            if p_pr is None:
                p_pr = parse_xml(f"<w:pPr {nsdecls('w')}/>")
                paragraph.insert(0, p_pr)
            style_lang = style_of(p_pr, "w:pStyle")
            text_langs = set()
            for run in paragraph.iter(qn("w:r")):
                r_pr = run.find(qn("w:rPr"))
                lang = _own_lang(r_pr) or style_of(r_pr, "w:rStyle") or style_lang or own
                if is_footer and language != "en":
                    for text in run.iter(qn("w:t")):
                        word = (text.text or "").strip()
                        if word in words:
                            text.text = text.text.replace(word, words[word])
                            text.set(qn("xml:space"), "preserve")
                            lang = own
                _set_lang(run, lang)
                if "".join(t.text or "" for t in run.iter(qn("w:t"))).strip():
                    text_langs.add(lang)
            mark = _own_lang(p_pr.find(qn("w:rPr"))) or style_lang
            if mark is None:
                mark = text_langs.pop() if len(text_langs) == 1 else own
            _set_lang(p_pr, mark)


def _list_numbering(document) -> str:
    """The numbering the letter's list items take: the List Bullet style's, or a bullet
    definition added (and given to the style) when the template's style has none."""
    numbering = document.part.numbering_part.element
    style = document.styles[LIST_STYLE].element
    found = style.find(f"{qn('w:pPr')}/{qn('w:numPr')}/{qn('w:numId')}")
    defined = {num.get(qn("w:numId")) for num in numbering.iter(qn("w:num"))}
    if found is not None and found.get(qn("w:val")) in defined - {"0"}:
        return found.get(qn("w:val"))
    abstract_ids = [int(a.get(qn("w:abstractNumId"))) for a in numbering.iter(qn("w:abstractNum"))]
    abstract_id = max(abstract_ids, default=-1) + 1
    abstract = parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">'
        '<w:multiLevelType w:val="singleLevel"/><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="bullet"/><w:lvlText w:val="•"/><w:lvlJc w:val="left"/>'
        '<w:pPr><w:ind w:left="720" w:hanging="360"/></w:pPr></w:lvl></w:abstractNum>'
    )
    first_num = numbering.find(qn("w:num"))
    if first_num is not None:
        first_num.addprevious(abstract)  # every abstract definition comes before the nums
    else:
        numbering.append(abstract)
    num_id = str(numbering.add_num(abstract_id).numId)
    # python-docx puts the style's numbering where the schema wants it.
    style.get_or_add_pPr().get_or_add_numPr().get_or_add_numId().val = int(num_id)
    return num_id


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
    language: str = "en",
) -> bytes:
    """The .docx of these elements, laid out by `template` (the shipped one when None).

    Until `approved`, a draft with a `version` number opens with "DRAFT – version N" and
    its properties say so; `title`/`subject` go in the document's properties, with the
    author, `now` as created and modified, and the version as revision. `language` ("en"
    or "cy") is the letter's: its paragraphs' unless an element says otherwise, its
    properties' and its footer's.
    """
    if language not in LANGUAGES:
        raise ValueError(f"a letter is in English or Welsh, not {language!r}")
    template = template or load_template()
    document = Document(io.BytesIO(template.content))
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
    marked = version is not None and not approved
    house = HOUSE[language]
    properties = document.core_properties
    properties.title = title
    properties.subject = subject
    properties.author = properties.last_modified_by = house.author
    properties.comments = ""
    properties.keywords = marking(version) if marked else ""
    properties.category = house.category
    properties.language = LANGUAGES[language]
    properties.created = properties.modified = now
    properties.revision = version or 1
    _proofing(document, language)

    build = _Builder(document, template, language, _list_numbering(document))
    paragraphs = []
    if marked:
        # Every later page says so too (the first page's header is the letterhead).
        for section in document.sections:
            header = section.header
            existing = header.paragraphs
            # A header made here starts with one empty paragraph: the marking fills it.
            if len(existing) == 1 and not existing[0].text and not header.tables:
                mark = existing[0]
                mark.add_run(marking(version))
            else:
                mark = header.add_paragraph(marking(version))
            if MARKING_STYLE in template.style_ids:
                mark.style = document.styles[MARKING_STYLE]
        style = template.style_ids.get(MARKING_STYLE)
        text = (marking(version),)
        if style:
            paragraphs.append(build.paragraph(text, style, build.language))
        else:
            paragraphs.append(
                '<w:p><w:pPr><w:jc w:val="center"/>'
                f'<w:rPr><w:lang w:val="{build.language}"/></w:rPr></w:pPr><w:r><w:rPr><w:b/>'
                f'<w:color w:val="C00000"/><w:lang w:val="{build.language}"/></w:rPr>'
                f"<w:t>{_clean(text[0])}</w:t></w:r></w:p>"
            )
    elif MARKING_STYLE in template.style_ids:
        # A letter with no marking carries no trace of one, not even the unused style.
        document.styles[MARKING_STYLE].delete()
    _template_text(document, language)
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
