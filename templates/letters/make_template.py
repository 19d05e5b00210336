"""Build `ciw-letter.docx`, the shipped Word template of the letter, reproducing the
reference letter's layout. Run `python templates/letters/make_template.py` after changing
this script, and commit the .docx it writes.

The template holds only layout: the A4 page and its margins, the bilingual CIW / AGC
letterhead in the first page's header, page numbers in the footer, and the styles the
letter uses (Normal, Heading 1-3, List Bullet, Hyperlink, CIW Draft Marking). CIW may
replace it with any Word file that has those styles (`CIW_LETTER_TEMPLATE`).

As an accessible document needs: the letterhead is text, Welsh first, each address column
marked with its language (the contacts and the footer take the letter's); spacing is the
styles' and the table's, never an empty paragraph; List Bullet is a real Word list. The
same script writes the same bytes (every part of the package dated alike).
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
OUT = HERE / "ciw-letter.docx"
FONT = "Arial"
BLACK = RGBColor(0, 0, 0)
LETTERHEAD_GAP = Pt(6)

# The letterhead as the reference letter gives it.
WELSH_ADDRESS = (
    "Arolygiaeth Gofal Cymru (AGC)",
    "Swyddfa Llywodraeth Cymru",
    "Sarn Mynach",
    "Cyffordd Llandudno",
    "LL31 9RZ",
    "www.arolygiaethgofal.cymru",
)
CONTACT = ("\u260e 0300 790 0126", "\u260e 0872 437 7303", "\u2709 CIW@gov.wales")
ENGLISH_ADDRESS = (
    "Care Inspectorate Wales (CIW)",
    "Welsh Government Office",
    "Government Buildings",
    "Sarn Mynach",
    "Llandudno Junction",
    "LL31 9RZ",
    "www.careinspectorate.wales",
)


APP_XML = (
    b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    b"<Template>ciw-letter.docx</Template><Application>ciw-bot</Application>"
    b"<Company>Care Inspectorate Wales</Company><DocSecurity>0</DocSecurity></Properties>"
)


def _lang(element, value: str) -> None:
    """Set the proofing language of a run, or of a paragraph's mark (`w:pPr`)."""
    if element.tag == qn("w:pPr"):
        r_pr = element.find(qn("w:rPr"))
        if r_pr is None:
            r_pr = OxmlElement("w:rPr")
            element.append(r_pr)
    else:
        r_pr = element.get_or_add_rPr()
    lang = r_pr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        r_pr.append(lang)
    lang.set(qn("w:val"), value)
    lang.set(qn("w:eastAsia"), value)
    lang.set(qn("w:bidi"), "ar-SA")


def _doc_defaults(document) -> None:
    # British English proofing and Arial for everything that does not say otherwise.
    styles = document.styles.element
    r_pr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    for old in r_pr.findall(qn("w:lang")):
        r_pr.remove(old)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-GB")
    lang.set(qn("w:eastAsia"), "en-GB")
    lang.set(qn("w:bidi"), "ar-SA")
    r_pr.append(lang)
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), FONT)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        fonts.attrib.pop(qn(attribute), None)


def _styles(document) -> None:
    styles = document.styles
    normal = styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(11)
    normal.paragraph_format.space_after = Pt(8)
    normal.paragraph_format.line_spacing = 1.15
    for name, size, italic in (
        ("Heading 1", 12, False),
        ("Heading 2", 11, False),
        ("Heading 3", 11, True),
    ):
        style = styles[name]
        style.font.name, style.font.size = FONT, Pt(size)
        style.font.bold, style.font.italic, style.font.color.rgb = True, italic, BLACK
        style.font.underline = name == "Heading 1"
        style.paragraph_format.space_before = Pt(12 if name != "Heading 3" else 8)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.keep_with_next = True
        # python-docx's headings use the theme's font; the letter's are Arial throughout.
        fonts = style.element.get_or_add_rPr().find(qn("w:rFonts"))
        for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
            fonts.attrib.pop(qn(attribute), None)
    bullet = styles["List Bullet"]
    bullet.font.name = FONT
    bullet.paragraph_format.space_after = Pt(4)
    marking = styles.add_style("CIW Draft Marking", WD_STYLE_TYPE.PARAGRAPH)
    marking.base_style = normal
    marking.font.bold, marking.font.size = True, Pt(14)
    marking.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    marking.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    marking.paragraph_format.space_after = Pt(12)
    link = styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
    link.font.underline = True
    link.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
    small = styles.add_style("CIW Letterhead", WD_STYLE_TYPE.PARAGRAPH)
    small.base_style = normal
    small.font.size = Pt(8)
    small.paragraph_format.space_after = Pt(0)
    small.paragraph_format.line_spacing = 1.0


def _cell_lines(cell, lines, *, align, lang: str | None = None, bold_first: bool = True) -> None:
    """One column of the letterhead, a paragraph a line. `lang` marks a column written in
    one language (the Welsh and English addresses); the contacts, in neither, are left to
    take the letter's language."""
    cell.paragraphs[0].style = "CIW Letterhead"
    for number, line in enumerate(lines):
        paragraph = (
            cell.paragraphs[0] if number == 0 else cell.add_paragraph(style="CIW Letterhead")
        )
        paragraph.alignment = align
        run = paragraph.add_run(line)
        if number == 0 and bold_first:
            run.bold = True
        if lang:
            _lang(run._r, lang)
            _lang(paragraph._p.get_or_add_pPr(), lang)


def _no_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties = table._tbl.tblPr
    # The schema's order of a table's properties (Word refuses others): borders, then the
    # cells' margins, then the look.
    properties.insert_element_before(borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook")
    # The letterhead's distance from the letter is the cells' bottom margin, not an empty
    # paragraph (an accessible document spaces with formatting, never with blank lines).
    margins = OxmlElement("w:tblCellMar")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:w"), str(int(LETTERHEAD_GAP.pt * 20)))
    bottom.set(qn("w:type"), "dxa")
    margins.append(bottom)
    properties.insert_element_before(margins, "w:tblLook", "w:tblCaption", "w:tblDescription")


def _end_mark(paragraph) -> None:
    """Word keeps a paragraph after a table that ends a header: this one takes no room."""
    paragraph.paragraph_format.space_before = paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.line_spacing = Pt(1)
    paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "2")
    r_pr = OxmlElement("w:rPr")
    r_pr.append(size)
    paragraph._p.get_or_add_pPr().append(r_pr)


def _field(paragraph, instruction: str, placeholder: str) -> None:
    """A Word field (PAGE, NUMPAGES): Word and LibreOffice fill it in on every page."""
    for kind, text in (
        ("begin", None),
        ("instr", instruction),
        ("separate", None),
        ("text", placeholder),
        ("end", None),
    ):
        run = paragraph.add_run()
        if kind == "instr":
            code = OxmlElement("w:instrText")
            code.set(qn("xml:space"), "preserve")
            code.text = f" {text} "
            run._r.append(code)
        elif kind == "text":
            run.text = text
        else:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)


def build() -> bytes:
    """The template as bytes."""
    document = Document()
    _doc_defaults(document)
    _styles(document)
    section = document.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    section.header_distance = section.footer_distance = Cm(1.0)
    section.different_first_page_header_footer = True

    header = section.first_page_header
    table = header.add_table(rows=1, cols=3, width=section.page_width - Cm(4.4))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(table)
    left, middle, right = table.rows[0].cells
    # Welsh first (left, and first as a screen reader reads the header), as the reference.
    _cell_lines(left, WELSH_ADDRESS, align=WD_ALIGN_PARAGRAPH.LEFT, lang="cy-GB")
    _cell_lines(middle, CONTACT, align=WD_ALIGN_PARAGRAPH.CENTER, bold_first=False)
    # The contacts start level with the addresses' second line (under their bold names).
    middle.paragraphs[0].paragraph_format.space_before = Pt(9)
    _cell_lines(right, ENGLISH_ADDRESS, align=WD_ALIGN_PARAGRAPH.RIGHT, lang="en-GB")
    # The letterhead first, then the paragraph Word requires after a table ending a header.
    header._element.remove(header.paragraphs[0]._p)
    _end_mark(header.add_paragraph())

    for footer in (section.first_page_footer, section.footer):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.style = "CIW Letterhead"
        paragraph.add_run("Page ")
        _field(paragraph, "PAGE", "1")
        paragraph.add_run(" of ")
        _field(paragraph, "NUMPAGES", "1")

    properties = document.core_properties
    properties.author = properties.last_modified_by = "Care Inspectorate Wales"
    properties.title = "Local Authority Performance Review letter"
    properties.subject = properties.keywords = properties.category = ""
    properties.comments = ""
    properties.language = "en-GB"
    properties.revision = 1
    stamp = dt.datetime(2026, 11, 26, tzinfo=dt.UTC).replace(tzinfo=None)
    properties.created = properties.modified = stamp
    package = document.part.package
    for key, rel in list(package.rels.items()):
        # python-docx's default document carries a thumbnail of an unrelated page.
        if rel.reltype.endswith("/thumbnail"):
            package.rels.pop(key)
    for part in package.iter_parts():
        if str(part.partname) == "/docProps/app.xml":
            part._blob = APP_XML
    # The default document body has nothing in it to keep.
    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    buffer = io.BytesIO()
    document.save(buffer)
    return _stamped(buffer.getvalue())


def _stamped(data: bytes) -> bytes:
    """The package again with every part dated alike, so the same script writes the same file."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            part = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            part.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(part, source.read(info.filename))
    return out.getvalue()


def main() -> int:
    """Write the template next to this script."""
    OUT.write_bytes(build())
    print(f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
