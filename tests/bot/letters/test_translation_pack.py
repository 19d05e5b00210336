"""The translation pack's .docx and reading back a translator's Welsh .docx."""

from __future__ import annotations

import io
import struct
import tracemalloc
import warnings
import zipfile
import zlib

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


def deflated(data: bytes) -> bytes:
    """Raw deflate blocks of `data` that refer to nothing before them and end on a byte
    boundary: copies of them joined (then LAST_BLOCK) make one deflate stream."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


LAST_BLOCK = zlib.compressobj(wbits=-15).flush()


def under_declared(package: bytes, *, extra_mb: int) -> bytes:
    """The package written again with `extra_mb` MB of spaces after its document.xml's
    XML (still well-formed) in the deflated data, while both of the part's headers declare
    the size and checksum of the XML alone; a few hundred bytes a megabyte."""
    spaces = deflated(b" " * 2**20)
    out, directory = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source:
        infos = source.infolist()
        for info in infos:
            content = source.read(info)
            data = deflated(content)
            if info.filename == "word/document.xml":
                data += spaces * extra_mb
            data += LAST_BLOCK
            name = info.filename.encode()
            # version, flags, method (deflated), time, date, CRC-32, sizes, name and extra lengths
            fields = (20, 0, zipfile.ZIP_DEFLATED, 0, 0x21, zlib.crc32(content), len(data))
            header_at = out.tell()
            out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields, len(content), len(name), 0))
            out.write(name + data)
            directory.write(
                struct.pack(
                    "<4sH5H3L5H2L",
                    b"PK\x01\x02",
                    20,  # made by
                    *fields,
                    len(content),
                    len(name),
                    0,  # extra
                    0,  # comment
                    0,  # disk
                    0,  # internal attributes
                    0,  # external attributes
                    header_at,
                )
                + name
            )
    directory_at, records = out.tell(), directory.getvalue()
    out.write(records)
    count = len(infos)
    out.write(
        struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(records), directory_at, 0)
    )
    return out.getvalue()


def test_a_zip_written_here_by_hand_is_read_like_any_other():
    welsh = read_welsh(under_declared(fill(pack(), ["Annwyl"]), extra_mb=0))
    assert welsh.paragraphs == ["Annwyl", "", "", ""]


def test_a_part_that_inflates_past_the_limit_is_refused_as_it_inflates_whatever_it_declares():
    # 200 MB in a 0.2 MB upload, whose headers say the part is a few kilobytes: zipfile
    # would inflate all of it at once before cutting it to the declared size.
    bomb = under_declared(fill(pack(), ["Annwyl"]), extra_mb=200)
    assert len(bomb) < 300_000
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        assert sum(info.file_size for info in archive.infolist()) < 2**20
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        with pytest.raises(UnreadableWelsh) as refused:
            read_welsh(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    assert refused.value.reason == "unpacks_too_large"
    assert refused.value.data == {"limit_mb": translation_pack.MAX_UNPACKED_BYTES // 2**20}
    assert peak < 10 * 2**20  # a chunk at a time, not the limit's 50 MB, nor 200


def test_a_part_that_inflates_to_more_than_it_declares_within_the_limit_is_damaged():
    # Its checksum is of the declared content: zipfile would have read that much and no more.
    with pytest.raises(UnreadableWelsh) as refused:
        read_welsh(under_declared(fill(pack(), ["Annwyl"]), extra_mb=1))
    assert refused.value.reason == "damaged"


def packed(files: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", method) as archive:
        warnings.simplefilter("ignore")  # a duplicate name
        for name, content in files:
            archive.writestr(name, content)
    return out.getvalue()


def parts(package: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


@pytest.mark.parametrize(
    ("files", "method", "reason"),
    [
        # More parts than a letter has: refused before zipfile reads its directory.
        (
            [("word/document.xml", b"<w/>")]
            + [(f"p{n}", b"") for n in range(translation_pack.MAX_PARTS)],
            zipfile.ZIP_STORED,
            "not_a_docx_file",
        ),
        # Word deflates; zipfile inflates bzip2 without a bound on a read.
        (parts(fill(pack(), ["Annwyl"])), zipfile.ZIP_BZIP2, "not_a_docx_file"),
        # Two parts of one name: which one a reader takes is its own choice.
        (
            [*parts(fill(pack(), ["Annwyl"])), ("word/document.xml", b"<w/>")],
            zipfile.ZIP_DEFLATED,
            "damaged",
        ),
    ],
    ids=["too_many_parts", "bzip2", "a_name_twice"],
)
def test_zips_word_does_not_write_are_refused_before_inflating(files, method, reason):
    with pytest.raises(UnreadableWelsh) as refused:
        read_welsh(packed(files, method))
    assert refused.value.reason == reason


def test_a_document_with_more_text_than_a_letter_is_refused():
    document = docx.Document()
    document.add_paragraph("a" * (translation_pack.MAX_TEXT_CHARS + 1))
    out = io.BytesIO()
    document.save(out)
    with pytest.raises(UnreadableWelsh) as refused:
        read_welsh(out.getvalue())
    assert refused.value.reason == "too_much_text"
