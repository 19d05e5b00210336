"""The translation pack's .docx and reading back a translator's Welsh .docx."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest

from bot.letters import translation_pack
from bot.letters.render import Element
from bot.letters.translation_pack import UnreadableWelsh, read_welsh

ELEMENTS = [
    Element("paragraph", ("Alwyn Jones", "The Guildhall", "Wrexham")),
    Element("heading", ("Well-being",), 2),
    Element("item", ("focused activity, 22 January 2020",)),
    Element("paragraph", ("Typed \x07text <b>&amp;</b>",)),
]


def pack(version: int = 3) -> bytes:
    return translation_pack.build(
        ELEMENTS,
        title="Translation pack",
        intro=["Write the Welsh in the Cymraeg column."],
        pack_identifier=translation_pack.identifier(5, version),
    )


def fill(data: bytes, welsh: list[str]) -> bytes:
    document = docx.Document(io.BytesIO(data))
    for row, text in zip(document.tables[0].rows[1:], welsh, strict=False):
        row.cells[1].paragraphs[0].add_run(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_the_pack_holds_each_element_in_a_row_with_line_breaks_kept():
    document = docx.Document(io.BytesIO(pack()))
    rows = document.tables[0].rows
    assert [r.cells[0].text for r in rows] == [
        "English",
        "Alwyn Jones\nThe Guildhall\nWrexham",
        "Well-being",
        "• focused activity, 22 January 2020",
        "Typed text <b>&amp;</b>",  # the control character XML cannot hold is left out
    ]
    assert rows[2].cells[0].paragraphs[0].runs[0].bold
    assert document.core_properties.identifier == "ciw-translation-pack:draft=5:version=3"
    assert document.core_properties.language == "en-GB"


def test_a_filled_pack_gives_its_cymraeg_column_row_for_row():
    welsh = read_welsh(fill(pack(), ["Alwyn Jones", "Llesiant", "", "Testun"]))
    assert welsh.source == "pack" and welsh.pack_version == 3
    assert welsh.paragraphs == ["Alwyn Jones", "Llesiant", "", "Testun"]
    assert welsh.empty_rows == [3]


def test_an_unfilled_pack_is_refused():
    with pytest.raises(UnreadableWelsh) as refused:
        read_welsh(pack())
    assert refused.value.reason == "pack_not_filled"


def test_a_translators_own_document_gives_its_paragraphs_and_table_cells_in_order():
    document = docx.Document()
    document.add_paragraph("Annwyl Alwyn Jones,")
    document.add_paragraph("   ")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Plant", "Oedolion"
    document.add_paragraph("Yn gywir,")
    out = io.BytesIO()
    document.save(out)
    welsh = read_welsh(out.getvalue())
    assert welsh.source == "document" and welsh.pack_version is None
    assert welsh.paragraphs == ["Annwyl Alwyn Jones,", "Plant", "Oedolion", "Yn gywir,"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"plain text, no zip", "not_a_docx_file"),
        (b"", "not_a_docx_file"),
    ],
)
def test_what_is_no_word_file_is_refused(data, reason):
    with pytest.raises(UnreadableWelsh) as refused:
        read_welsh(data)
    assert refused.value.reason == reason


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_a_zip_that_is_no_word_document_or_unpacks_huge_is_refused_before_parsing():
    with pytest.raises(UnreadableWelsh) as refused:
        read_welsh(zipped({"hello.txt": b"hi"}))
    assert refused.value.reason == "not_a_docx_file"
    bomb = zipped({"word/document.xml": b"<" + b" " * (translation_pack.MAX_UNPACKED_BYTES + 1)})
    assert len(bomb) < 200_000
    with pytest.raises(UnreadableWelsh) as refused:
        read_welsh(bomb)
    assert refused.value.reason == "unpacks_too_large"


def test_a_document_with_more_text_than_a_letter_is_refused():
    document = docx.Document()
    document.add_paragraph("a" * (translation_pack.MAX_TEXT_CHARS + 1))
    out = io.BytesIO()
    document.save(out)
    with pytest.raises(UnreadableWelsh) as refused:
        read_welsh(out.getvalue())
    assert refused.value.reason == "too_much_text"
