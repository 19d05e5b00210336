"""The letter's Word file: laid out by the template CIW owns, as the reference letter is.

Opened with python-docx and read as Word would: page size, proofing languages, the
letterhead in the first page's header, the page-number field, the draft marking, the
styles and the document's properties.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.shared import Cm
from sqlalchemy import select

from bot.demo import load_demo
from bot.letters import assemble, render
from bot.letters.docx import to_docx
from bot.letters.template import (
    REQUIRED_STYLES,
    SHIPPED_TEMPLATE,
    TemplateError,
    load_template,
)
from bot.records.dates import ReviewYear
from bot.render import Templates
from bot.settings import Settings, SettingsError
from db.models import Authority, Language
from db.session import session_factory

NOW = dt.datetime(2020, 8, 3, 9, 30, tzinfo=dt.UTC)
TODAY = dt.date(2020, 8, 3)


@pytest.fixture
def elements(engine):
    with session_factory(engine)() as session, session.begin():
        load_demo(session, now=NOW)
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        letter = assemble.assemble(
            session, wrexham, ReviewYear(2019), today=TODAY, settings=Settings()
        )
        return render.elements_of(Templates(), letter)


def open_docx(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def lang_of(paragraph) -> set[str]:
    """The proofing languages set on a paragraph's runs."""
    return {
        lang.get(qn("w:val")) for lang in paragraph._p.iter(qn("w:lang")) if lang.get(qn("w:val"))
    }


def test_a4_letterhead_page_numbers_and_styles(elements):
    document = open_docx(to_docx(elements, title="Draft letter", version=2, now=NOW))
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    # The bilingual letterhead is in the first page's header only, as the reference's.
    assert section.different_first_page_header_footer
    header = "\n".join(
        cell.text for table in section.first_page_header.tables for cell in table._cells
    )
    for line in (
        "Arolygiaeth Gofal Cymru (AGC)",
        "Swyddfa Llywodraeth Cymru",
        "Cyffordd Llandudno",
        "www.arolygiaethgofal.cymru",
        "0300 790 0126",
        "CIW@gov.wales",
        "Care Inspectorate Wales (CIW)",
        "Welsh Government Office",
        "Llandudno Junction",
        "LL31 9RZ",
        "www.careinspectorate.wales",
    ):
        assert line in header, line
    assert "Arolygiaeth" not in "".join(p.text for p in section.header.paragraphs)
    # Every page's footer numbers the page with a PAGE field Word fills in.
    for footer in (section.first_page_footer, section.footer):
        codes = [t.text.strip() for t in footer._element.iter(qn("w:instrText"))]
        assert "PAGE" in codes and "NUMPAGES" in codes
    styles = {p.text.split("\n")[0]: p.style.name for p in document.paragraphs}
    assert styles["Children's Services:"] == "Heading 2"
    assert styles["Well-being"] == "Heading 3"
    assert styles["performance review meeting, 10 April 2019"] == "List Bullet"
    assert styles[
        "Care Inspectorate Wales (CIW) Local Authority Performance Review April 2019 - March 2020"
    ] == ("Heading 1")
    # Headings differ in size or form, so the letter reads as the reference's.
    h1, h2, h3 = (document.styles[f"Heading {n}"].font for n in (1, 2, 3))
    assert h1.size > h2.size and h3.italic and not h2.italic


def test_british_english_proofing_and_welsh_paragraphs_marked_welsh(elements):
    data = to_docx(elements, title="Draft letter", version=1, now=NOW)
    document = open_docx(data)
    defaults = document.styles.element.find(qn("w:docDefaults"))
    assert defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}").get(qn("w:val")) == (
        "en-GB"
    )
    welsh = [p for p in document.paragraphs if p.text.startswith("Rydym yn croesawu")]
    english = [p for p in document.paragraphs if p.text.startswith("We welcome receiving")]
    assert len(welsh) == len(english) == 1
    assert lang_of(welsh[0]) == {"cy-GB"}
    # Every paragraph says its language, not only the Welsh ones (a screen reader reads it).
    assert lang_of(english[0]) == {"en-GB"}
    assert all(lang_of(p) for p in document.paragraphs)
    assert "en-US" not in zipfile.ZipFile(io.BytesIO(data)).read("word/styles.xml").decode()


def test_draft_marking_until_approved_and_none_on_the_approved_file(elements):
    draft = open_docx(to_docx(elements, title="Draft letter", version=3, now=NOW))
    first = draft.paragraphs[0]
    assert first.text == "DRAFT \u2013 version 3"
    assert first.style.name == "CIW Draft Marking"
    assert draft.paragraphs[1].text.startswith("Alwyn Jones\nDirector of Social Services")
    # The pages after the first carry it in their header.
    assert "DRAFT \u2013 version 3" in [p.text for p in draft.sections[0].header.paragraphs]
    approved = open_docx(
        to_docx(elements, title="Approved letter", version=3, approved=True, now=NOW)
    )
    assert approved.paragraphs[0].text.startswith("Alwyn Jones")
    assert not any("DRAFT" in p.text for p in approved.paragraphs)
    headers = [approved.sections[0].header, approved.sections[0].first_page_header]
    assert not any("DRAFT" in p.text for h in headers for p in h.paragraphs)
    assert approved.core_properties.keywords == ""
    assert draft.core_properties.keywords == "DRAFT \u2013 version 3"


def test_true_document_properties(elements):
    document = open_docx(
        to_docx(
            elements, title="Draft letter: Wrexham 2019-20", subject="draft", version=4, now=NOW
        )
    )
    properties = document.core_properties
    assert properties.title == "Draft letter: Wrexham 2019-20"
    assert properties.subject == "draft"
    assert properties.author == properties.last_modified_by == "Care Inspectorate Wales"
    assert properties.created == properties.modified == NOW
    assert properties.revision == 4
    assert properties.language == "en-GB"
    assert "python-docx" not in (properties.comments or "")


def test_no_empty_last_page_and_signature_and_cc_last(elements):
    document = open_docx(to_docx(elements, title="Draft letter", version=1, now=NOW))
    body = document.element.body
    last = body[-2]  # the last child is the section's properties
    assert last.tag == qn("w:p")
    assert docx.text.paragraph.Paragraph(last, document).text == "Cc.\nAudit Wales\nHIW\nEstyn"
    # No page break and no empty paragraph anywhere to push a blank page out.
    assert not [b for b in body.iter(qn("w:br")) if b.get(qn("w:type")) == "page"]
    assert all(p.text.strip() for p in document.paragraphs)


def test_links_are_hyperlinks_keeping_their_address(elements):
    document = open_docx(to_docx(elements, title="Draft letter", now=NOW))
    links = list(document.element.body.iter(qn("w:hyperlink")))
    assert len(links) == 1
    target = document.part.rels[links[0].get(qn("r:id"))].target_ref
    assert target == "https://www.careinspectorate.wales"
    assert "".join(t.text for t in links[0].iter(qn("w:t"))) == "report"


def test_an_operators_own_template_lays_the_letter_out(elements, tmp_path):
    # Any Word file with the needed styles: here a plain one, US Letter, with sample text.
    own = docx.Document()
    own.sections[0].page_width, own.sections[0].page_height = Cm(21.59), Cm(27.94)
    own.add_paragraph("Sample text the letter replaces.")
    own.sections[0].header.paragraphs[0].text = "Our own letterhead"
    path = tmp_path / "own.docx"
    own.save(str(path))
    template = load_template(path)
    document = open_docx(to_docx(elements, title="Draft letter", template=template, version=1))
    assert round(document.sections[0].page_width.cm, 2) == 21.59
    assert document.sections[0].header.paragraphs[0].text == "Our own letterhead"
    assert "Sample text" not in "".join(p.text for p in document.paragraphs)
    # Without the template's own marking style the marking is still there.
    assert document.paragraphs[0].text == "DRAFT \u2013 version 1"
    assert {p.style.name for p in document.paragraphs} >= {"Heading 1", "List Bullet"}


def test_a_template_without_the_needed_styles_or_no_template_is_refused_at_start(tmp_path):
    own = docx.Document()
    own.styles["List Bullet"].delete()
    path = tmp_path / "bare.docx"
    own.save(str(path))
    with pytest.raises(TemplateError, match="no style named 'List Bullet'"):
        load_template(path)
    for bad, expected in [
        (path, "no style named 'List Bullet'"),
        (tmp_path / "missing.docx", "cannot read it"),
    ]:
        with pytest.raises(SettingsError) as error:
            Settings.from_env({"CIW_LETTER_TEMPLATE": str(bad)})
        message = str(error.value)
        assert message.startswith("CIW_LETTER_TEMPLATE ") and expected in message
        assert "\n" not in message
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SettingsError, match=r"not a Word \.docx file"):
        Settings.from_env({"CIW_LETTER_TEMPLATE": str(broken)})
    assert Settings.from_env({}).letter_template is None
    assert Settings.from_env({"CIW_LETTER_TEMPLATE": str(SHIPPED_TEMPLATE)}).letter_template


def test_the_shipped_template_is_what_its_script_builds():
    from templates.letters.make_template import build

    def parts(data: bytes) -> dict[str, bytes]:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return {name: package.read(name) for name in package.namelist()}

    # Part for part: after a change to the script, run it and commit the .docx it writes.
    assert parts(SHIPPED_TEMPLATE.read_bytes()) == parts(build())
    assert build() == build()  # the same script writes the same file
    shipped = docx.Document(str(SHIPPED_TEMPLATE))
    paragraph_styles = {s.name for s in shipped.styles if s.type == WD_STYLE_TYPE.PARAGRAPH}
    assert set(REQUIRED_STYLES) <= paragraph_styles
    assert not shipped.paragraphs  # layout only: the letter is the body


def test_a_welsh_council_is_addressed_by_its_welsh_name_with_the_statement_first(engine):
    with session_factory(engine)() as session, session.begin():
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        texts = {}
        for language in (Language.EN, Language.CY, Language.BOTH):
            wrexham.language = language
            letter = assemble.assemble(
                session, wrexham, ReviewYear(2019), today=TODAY, settings=Settings()
            )
            texts[language] = render.to_text(render.elements_of(Templates(), letter))
        welsh_name = wrexham.welsh_name
    assert texts[Language.EN] != texts[Language.CY] != texts[Language.BOTH]
    en, cy, both = (texts[k].split("\n") for k in (Language.EN, Language.CY, Language.BOTH))
    assert en[2] == "Wrexham County Borough Council"
    assert cy[2] == welsh_name and "Wrexham County Borough Council" not in cy[:6]
    assert both[2:4] == [welsh_name, "Wrexham County Borough Council"]
    subject = "Care Inspectorate Wales (CIW) Local Authority Performance Review"
    for lines in (cy, both):
        after_subject = lines[next(i for i, x in enumerate(lines) if x.startswith(subject)) + 2]
        assert after_subject.startswith("Rydym yn croesawu derbyn gohebiaeth yn Gymraeg.")
    # In English the statement follows the introduction, as in the reference.
    after = en[next(i for i, x in enumerate(en) if x.startswith(subject)) + 2]
    assert after.startswith("The code of practice")
    assert Path(SHIPPED_TEMPLATE).exists()
