"""The letter's Word file as an accessible document (what public bodies must publish): the
checker of tests/docx_checks.py finds each kind of fault in a document made with it, and
finds none in the letter, English or Welsh, final or draft.
"""

from __future__ import annotations

import io
import struct
import zlib

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

from bot.letters import render
from bot.letters.docx import to_docx
from templates.letters.make_template import CONTACT, ENGLISH_ADDRESS, WELSH_ADDRESS
from tests.docx_checks import faults

# A short letter with every kind of element the letter has.
MARKUP = """Alwyn Jones
Director of Social Services
Wrexham County Borough Council

Date: 03 August 2020

Dear Alwyn Jones,

# Care Inspectorate Wales (CIW) Local Authority Performance Review April 2019 - March 2020

@cy Rydym yn croesawu derbyn gohebiaeth yn Gymraeg.

We welcome receiving correspondence in Welsh.

## Children's Services:

- performance review meeting, 10 April 2019
- focused activity, 22 January 2020

## Summary of strengths and areas for improvement in line with principles of the 2014 Act

### Well-being

The [report](https://www.careinspectorate.wales) is published on our website.

Yours sincerely,
"""
WELSH_STATEMENT = "Rydym yn croesawu derbyn gohebiaeth yn Gymraeg."
LETTERHEAD = (("cy-GB", WELSH_ADDRESS), ("", CONTACT), ("en-GB", ENGLISH_ADDRESS))


def letter(language: str = "en", **options) -> bytes:
    """The short letter as the bot makes its final file (or, with `version`, a draft)."""
    options.setdefault("approved", True)
    return to_docx(render.parse(MARKUP), title="A letter", version=2, language=language, **options)


def check(data: bytes, language: str = "en", **options) -> list[str]:
    """The kinds of fault found in the short letter (its Welsh statement Welsh in English)."""
    expected = {WELSH_STATEMENT: "cy-GB"} if language == "en" else {}
    found = faults(data, letterhead=LETTERHEAD, expected_languages=expected, **options)
    return sorted({f.kind for f in found})


# -- each fault, made by hand in a letter that has no other --------------------------------
def body_paragraph(document, starts: str):
    return next(p for p in document.paragraphs if p.text.startswith(starts))


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def no_title(document) -> None:
    document.core_properties.title = ""


def run_without_language(document) -> None:
    run = body_paragraph(document, "Dear")._p.find(qn("w:r"))
    lang = run.find(f"{qn('w:rPr')}/{qn('w:lang')}")
    lang.getparent().remove(lang)


def english_marked_welsh(document) -> None:
    paragraph = body_paragraph(document, "We welcome")._p
    for lang in paragraph.iter(qn("w:lang")):
        lang.set(qn("w:val"), "cy-GB")


def heading_level_skipped(document) -> None:
    body_paragraph(document, "Children's Services:").style = document.styles["Heading 3"]


def first_heading_not_level_one(document) -> None:
    body_paragraph(document, "Care Inspectorate Wales").style = document.styles["Heading 2"]


def typed_bullet(document) -> None:
    paragraph = body_paragraph(document, "focused activity")
    paragraph.style = document.styles["Normal"]
    paragraph._p.pPr.remove(paragraph._p.pPr.numPr)
    paragraph.runs[0].text = "\u2022 " + paragraph.runs[0].text


def list_item_in_no_list(document) -> None:
    paragraph = body_paragraph(document, "focused activity")._p
    paragraph.pPr.remove(paragraph.pPr.numPr)


def empty_paragraph_for_spacing(document) -> None:
    gap = parse_xml(
        f'<w:p {nsdecls("w")}><w:pPr><w:rPr><w:lang w:val="en-GB"/></w:rPr></w:pPr></w:p>'
    )
    body_paragraph(document, "Dear")._p.addnext(gap)


def empty_paragraph_in_the_letterhead(document) -> None:
    header = document.sections[0].first_page_header._element
    header.insert(
        0,
        parse_xml(
            f'<w:p {nsdecls("w")}><w:pPr><w:rPr><w:lang w:val="en-GB"/></w:rPr></w:pPr></w:p>'
        ),
    )


def letterhead_english_first(document) -> None:
    row = document.sections[0].first_page_header.tables[0].rows[0]._tr
    cells = row.findall(qn("w:tc"))
    cells[0].addprevious(cells[2])


def letterhead_picture(document) -> None:
    header = document.sections[0].first_page_header
    header.paragraphs[-1].add_run().add_picture(io.BytesIO(_png()))


def draft_in_the_properties(document) -> None:
    document.core_properties.keywords = "DRAFT \u2013 version 2"


def draft_in_the_footer(document) -> None:
    footer = document.sections[0].footer.paragraphs[0]._p
    footer.addprevious(
        parse_xml(
            f'<w:p {nsdecls("w")}><w:pPr><w:rPr><w:lang w:val="en-GB"/></w:rPr></w:pPr>'
            '<w:r><w:rPr><w:lang w:val="en-GB"/></w:rPr><w:t>DRAFT \u2013 version 2</w:t></w:r></w:p>'
        )
    )


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (no_title, "properties"),
        (run_without_language, "language"),
        (english_marked_welsh, "language"),
        (heading_level_skipped, "heading"),
        (first_heading_not_level_one, "heading"),
        (typed_bullet, "list"),
        (list_item_in_no_list, "list"),
        (empty_paragraph_for_spacing, "empty"),
        (empty_paragraph_in_the_letterhead, "empty"),
        (letterhead_english_first, "letterhead"),
        (letterhead_picture, "letterhead"),
        (draft_in_the_properties, "draft"),
        (draft_in_the_footer, "draft"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_the_checker_finds_each_fault_and_only_it(fault, kind):
    good = letter()
    assert check(good) == []
    document = docx.Document(io.BytesIO(good))
    fault(document)
    buffer = io.BytesIO()
    document.save(buffer)
    assert check(buffer.getvalue()) == [kind]


def test_a_document_with_no_heading_is_faulted():
    document = docx.Document(io.BytesIO(letter()))
    for paragraph in document.paragraphs:
        if paragraph.style.name.startswith("Heading"):
            paragraph.style = document.styles["Normal"]
    buffer = io.BytesIO()
    document.save(buffer)
    assert check(buffer.getvalue()) == ["heading"]
    assert check(buffer.getvalue(), headings_required=False) == []


# -- the letter ------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "cy"])
def test_the_final_letter_in_either_language_has_no_fault(language):
    assert check(letter(language), language) == []


def test_a_draft_is_as_accessible_apart_from_its_marking():
    draft = letter(approved=False)
    assert check(draft, final=False) == []
    assert check(draft) == ["draft"]


def test_the_welsh_letter_speaks_welsh_where_the_template_does_not_say_otherwise():
    document = docx.Document(io.BytesIO(letter("cy")))
    properties = document.core_properties
    assert properties.language == "cy-GB"
    assert (properties.author, properties.category) == (
        "Arolygiaeth Gofal Cymru",
        "Adolygiad Perfformiad Awdurdod Lleol",
    )
    defaults = document.styles.element.find(qn("w:docDefaults"))
    assert defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}").get(qn("w:val")) == (
        "cy-GB"
    )
    section = document.sections[0]
    for footer in (section.first_page_footer, section.footer):
        assert footer.paragraphs[0].text == "Tudalen 1 o 1"
        codes = [t.text.strip() for t in footer._element.iter(qn("w:instrText"))]
        assert codes == ["PAGE", "NUMPAGES"]
    english = docx.Document(io.BytesIO(letter("en")))
    assert english.sections[0].footer.paragraphs[0].text == "Page 1 of 1"
    assert english.core_properties.author == "Care Inspectorate Wales"


def test_list_items_are_in_a_bullet_list_even_when_the_templates_style_has_none(tmp_path):
    from bot.letters.template import load_template

    own = docx.Document()
    style = own.styles["List Bullet"].element
    style.pPr.remove(style.pPr.numPr)
    own.sections[0].header.paragraphs[0].text = "Our letterhead"
    path = tmp_path / "own.docx"
    own.save(str(path))
    data = to_docx(
        render.parse(MARKUP), title="A letter", template=load_template(path), approved=True
    )
    document = docx.Document(io.BytesIO(data))
    items = [p for p in document.paragraphs if p.style.name == "List Bullet"]
    assert [p.text for p in items] == [
        "performance review meeting, 10 April 2019",
        "focused activity, 22 January 2020",
    ]
    numbering = document.part.numbering_part.element
    for item in items:
        num_id = item._p.pPr.numPr.numId.val
        abstract_id = numbering.num_having_numId(num_id).abstractNumId.val
        abstract = next(
            a
            for a in numbering.iter(qn("w:abstractNum"))
            if a.get(qn("w:abstractNumId")) == str(abstract_id)
        )
        assert abstract.find(f"{qn('w:lvl')}/{qn('w:numFmt')}").get(qn("w:val")) == "bullet"
    assert faults(data, expected_languages={WELSH_STATEMENT: "cy-GB"}) == []


def test_an_operators_header_keeps_the_language_it_marks_and_takes_the_letters_otherwise(
    tmp_path,
):
    from bot.letters.template import load_template

    own = docx.Document()
    header = own.sections[0].header
    header.paragraphs[0].text = "Our letterhead"
    english = header.add_paragraph().add_run("English only")
    english._r.get_or_add_rPr().append(parse_xml(f'<w:lang {nsdecls("w")} w:val="en-GB"/>'))
    path = tmp_path / "own.docx"
    own.save(str(path))
    data = to_docx(
        render.parse(MARKUP),
        title="Llythyr",
        template=load_template(path),
        approved=True,
        language="cy",
    )
    assert faults(data, expected_languages={"English only": "en-GB"}) == []


def test_a_footer_marked_english_in_the_template_is_welsh_in_the_welsh_letter(tmp_path):
    from bot.letters.template import load_template

    own = docx.Document()
    footer = own.sections[0].footer.paragraphs[0]
    run = footer.add_run("Page ")
    run._r.get_or_add_rPr().append(parse_xml(f'<w:lang {nsdecls("w")} w:val="en-GB"/>'))
    footer.add_run("1")
    path = tmp_path / "own.docx"
    own.save(str(path))
    data = to_docx(
        render.parse(MARKUP), title="Llythyr", template=load_template(path), language="cy"
    )
    document = docx.Document(io.BytesIO(data))
    paragraph = document.sections[0].footer.paragraphs[0]
    assert paragraph.text == "Tudalen 1"
    assert faults(data, expected_languages={"Tudalen 1": "cy-GB"}) == []
