"""The translation pack (.docx): an approved letter paragraph by paragraph beside an empty
Cymraeg column for the translator; and reading back the Welsh .docx a translator returns.

The pack is A4 with British English as the document's language; the English column's
paragraphs are marked en-GB and the Cymraeg column's cy-GB (their style and the paragraph
mark, so what the translator types there is proofed as Welsh). Nothing here translates.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.etree import XMLSyntaxError

from bot.letters.render import Element

ENGLISH, CYMRAEG = "English", "Cymraeg"
ENGLISH_LANG, WELSH_LANG = "en-GB", "cy-GB"
ENGLISH_STYLE, WELSH_STYLE = "Pack English", "Pack Cymraeg"
IDENTIFIER_PREFIX = "ciw-translation-pack"
# A Word letter of a few pages unpacks to well under a megabyte; far more is no letter
# (or a zip bomb), and is refused before any XML is parsed.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# A letter is a few dozen parts; a zip of more is refused before zipfile reads its directory.
MAX_PARTS = 1000
_CENTRAL_RECORD = b"PK\x01\x02"
_ENCRYPTED = 0x1
_STORED_OR_DEFLATED = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_CHUNK = 64 * 1024
# What zipfile is told a part inflates to: more than can ever be read before the refusal.
_PAST_THE_LIMIT = MAX_UNPACKED_BYTES + _CHUNK + 1
MAX_TEXT_CHARS = 400_000
# A Welsh letter is tens of kilobytes; 10 MB leaves room for a letterhead's pictures. What
# a platform hands over is read no further than this, whatever it says the file's size is.
MAX_FILE_BYTES = 10 * 1024 * 1024
# Word documents in any of their forms, and what else a translator might send instead: a
# file of these kinds is answered (a .docx is needed), by what it is.
DOCUMENT_KINDS = {
    "docx": "a Word document",
    "doc": "an old Word document (.doc)",
    "docm": "a Word document with macros (.docm)",
    "dotx": "a Word template (.dotx)",
    "odt": "an OpenDocument text (.odt)",
    "rtf": "a rich text file (.rtf)",
    "pdf": "a PDF",
    "pages": "a Pages document",
    "txt": "a plain text file",
}
# Characters XML 1.0 cannot hold (typed text could carry them): dropped, not fatal.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean_xml_text(text: str) -> str:
    """Text Word can hold: characters XML 1.0 forbids are left out."""
    return _NOT_XML.sub("", text)


class UnreadableWelsh(Exception):
    """A returned file that cannot be the Welsh text; `reason` names the template's case."""

    def __init__(self, reason: str, **data: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data


@dataclass(frozen=True)
class WelshDocument:
    """What a translator's .docx holds: its Welsh paragraphs and where they came from."""

    paragraphs: list[str]
    source: str  # "pack": the pack's Cymraeg column, one per English row; "document": its text
    identifier: str | None = None
    empty_rows: list[int] = field(default_factory=list)

    def _identified(self, wanted: str) -> int | None:
        if not self.identifier or not self.identifier.startswith(IDENTIFIER_PREFIX):
            return None
        for part in self.identifier.split(":")[1:]:
            key, _, value = part.partition("=")
            if key == wanted and value.isdigit() and len(value) <= 12:
                return int(value)
        return None

    @property
    def pack_version(self) -> int | None:
        """The letter version the pack was made for, if the file still says."""
        return self._identified("version")

    @property
    def pack_draft(self) -> int | None:
        """The draft (its id) the pack was made for, if the file still says: how a pack
        sent where no thread names the letter (Teams' personal chat) finds it."""
        return self._identified("draft")


def identifier(draft_id: int, version: int) -> str:
    """The pack's document identifier: which draft and version it carries."""
    return f"{IDENTIFIER_PREFIX}:draft={draft_id}:version={version}"


def _lang(language: str) -> OxmlElement:
    element = OxmlElement("w:lang")
    element.set(qn("w:val"), language)
    return element


def _language_style(document, name: str, language: str):  # type: ignore[no-untyped-def]
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Normal"]
    style.element.get_or_add_rPr().append(_lang(language))
    style.paragraph_format.space_after = Pt(4)
    return style


def _mark_language(paragraph: Paragraph, language: str) -> None:
    # The paragraph mark's run properties are what Word gives text typed into the paragraph.
    p_pr = paragraph._p.get_or_add_pPr()
    r_pr = OxmlElement("w:rPr")
    r_pr.append(_lang(language))
    p_pr.append(r_pr)


def _repeat_as_header(row) -> None:  # type: ignore[no-untyped-def]
    tr_pr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)


def build(elements: list[Element], *, title: str, intro: list[str], pack_identifier: str) -> bytes:
    """The pack's .docx: a title, the translator's instructions, then the two-column table."""
    document = Document()
    properties = document.core_properties
    properties.title = title
    properties.subject = "translation pack"
    properties.identifier = pack_identifier
    properties.author = "Care Inspectorate Wales"
    properties.language = ENGLISH_LANG
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    normal = document.styles["Normal"]
    normal.font.size = Pt(11)
    normal.element.get_or_add_rPr().append(_lang(ENGLISH_LANG))
    english_style = _language_style(document, ENGLISH_STYLE, ENGLISH_LANG)
    welsh_style = _language_style(document, WELSH_STYLE, WELSH_LANG)

    document.add_heading(clean_xml_text(title), level=1)
    for line in intro:
        document.add_paragraph(clean_xml_text(line))

    table = document.add_table(rows=1, cols=2)
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    width = (section.page_width - section.left_margin - section.right_margin) // 2
    header = table.rows[0]
    _repeat_as_header(header)
    for cell, (text, style, language) in zip(
        header.cells,
        ((ENGLISH, english_style, ENGLISH_LANG), (CYMRAEG, welsh_style, WELSH_LANG)),
        strict=True,
    ):
        paragraph = cell.paragraphs[0]
        paragraph.style = style
        paragraph.add_run(text).bold = True
        _mark_language(paragraph, language)
    for element in elements:
        english, welsh = table.add_row().cells
        paragraph = english.paragraphs[0]
        paragraph.style = english_style
        _mark_language(paragraph, ENGLISH_LANG)
        for number, line in enumerate(element.lines):
            prefix = "• " if element.kind == "item" else ""
            run = paragraph.add_run(prefix + clean_xml_text(line))
            run.bold = element.kind == "heading"
            if number < len(element.lines) - 1:
                run.add_break()
        welsh.paragraphs[0].style = welsh_style
        _mark_language(welsh.paragraphs[0], WELSH_LANG)
    for row in table.rows:
        for cell in row.cells:
            cell.width = width
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _inflated(data: bytes) -> bytes:
    """The upload packed again from what its parts really inflate to, for python-docx to read.

    Each part is inflated a chunk at a time and counted, and the upload is refused as
    soon as the count passes MAX_UNPACKED_BYTES: the sizes a zip declares are not
    believed (zipfile inflates a part that under-declares its size whole, in one go,
    before cutting it to the declared length). python-docx then reads the copy, whose
    parts hold only what was counted. Parts that share their data are counted each time.
    """
    # zipfile holds every central directory record in memory as it opens the zip: their
    # signature counted in the bytes bounds how many there can be before it does.
    if data.count(_CENTRAL_RECORD) > MAX_PARTS:
        raise UnreadableWelsh("not_a_docx_file")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):  # ValueError: a name that is not the UTF-8 it says
        raise UnreadableWelsh("not_a_docx_file") from None
    with archive:
        parts = [info for info in archive.infolist() if not info.is_dir()]
        names = [info.filename for info in parts]
        if "word/document.xml" not in names:
            raise UnreadableWelsh("not_a_docx_file")
        if any(
            info.flag_bits & _ENCRYPTED or info.compress_type not in _STORED_OR_DEFLATED
            for info in parts
        ):
            # Word neither encrypts parts nor packs them with bzip2 or LZMA (which zipfile
            # would inflate without a bound on each read).
            raise UnreadableWelsh("not_a_docx_file")
        if len(set(names)) != len(names):
            raise UnreadableWelsh("damaged")
        package = io.BytesIO()
        unpacked = 0
        try:
            with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
                for info in parts:
                    # Read on to where the part's data really ends, past its declared size.
                    whole = copy.copy(info)
                    whole.file_size = _PAST_THE_LIMIT
                    with archive.open(whole) as part, out.open(info.filename, "w") as kept:
                        while chunk := part.read(_CHUNK):
                            unpacked += len(chunk)
                            if unpacked > MAX_UNPACKED_BYTES:
                                raise UnreadableWelsh(
                                    "unpacks_too_large", limit_mb=MAX_UNPACKED_BYTES // 2**20
                                )
                            kept.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
            # A broken local header or compressed data, a checksum that does not match, a
            # part flagged as patched data.
            raise UnreadableWelsh("damaged") from None
    return package.getvalue()


def _open(data: bytes):  # type: ignore[no-untyped-def]
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise UnreadableWelsh("not_a_docx_file")
    package = _inflated(data)
    try:
        return Document(io.BytesIO(package))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, XMLSyntaxError):
        # Damaged parts, a macro or template file's content type, broken XML: not readable.
        raise UnreadableWelsh("damaged") from None


def _pack_table(document) -> Table | None:  # type: ignore[no-untyped-def]
    for table in document.tables:
        if not table.rows or len(table.columns) < 2:
            continue
        first = [cell.text.strip().lower() for cell in table.rows[0].cells[:2]]
        if first == [ENGLISH.lower(), CYMRAEG.lower()]:
            return table
    return None


def read_welsh(data: bytes) -> WelshDocument:
    """The Welsh paragraphs of a returned .docx; UnreadableWelsh says why there are none.

    A filled pack gives its Cymraeg column, one entry per English row (empty ones kept, so
    the rows still pair with the English); any other document gives its non-empty
    paragraphs, table cells included, in reading order.
    """
    document = _open(data)
    ident = document.core_properties.identifier or None
    table = _pack_table(document)
    if table is not None:
        paragraphs = [row.cells[1].text.strip() for row in table.rows[1:]]
        if not any(paragraphs):
            raise UnreadableWelsh("pack_not_filled")
        empty = [number for number, text in enumerate(paragraphs, start=1) if not text]
        result = WelshDocument(paragraphs, "pack", ident, empty)
    else:
        paragraphs = []
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                texts = [block.text]
            else:
                texts = [cell.text for row in block.rows for cell in row.cells]
            paragraphs.extend(t.strip() for t in texts if t.strip())
        if not paragraphs:
            raise UnreadableWelsh("no_text")
        result = WelshDocument(paragraphs, "document", ident)
    length = sum(len(p) for p in result.paragraphs)
    if length > MAX_TEXT_CHARS:
        raise UnreadableWelsh("too_much_text", length=length, limit=MAX_TEXT_CHARS)
    return result
