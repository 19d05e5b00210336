"""The issued letter's final files, made from a version approved through the domain (and,
for a Welsh-language council, its Welsh text uploaded as a filled pack and approved), then
opened with python-docx as the director and the public will open them.
"""

from __future__ import annotations

import datetime as dt
import io

import docx
import pytest
from sqlalchemy import select

from bot.letters import render
from bot.letters.translation_pack import read_welsh
from bot.records.dates import ReviewYear
from bot.review import draft_versions, drafts, translation
from bot.review.final_files import FinalFile, NotIssuable, final_files
from db.models import Authority, Draft, DraftVersion, Language
from templates.letters.make_template import CONTACT, ENGLISH_ADDRESS, WELSH_ADDRESS
from tests.docx_checks import assert_accessible

# The version is made (and so dated) on 3 August 2020, approved the next day, issued later.
MADE = dt.datetime(2020, 8, 3, 9, 0, tzinfo=dt.UTC)
APPROVED = dt.datetime(2020, 8, 4, 10, 0, tzinfo=dt.UTC)
ISSUED_ON = dt.date(2020, 12, 3)
ENGLISH_NAME = "Wrexham County Borough Council 2019-20 performance review letter.docx"
WELSH_NAME = "Wrexham County Borough Council 2019-20 performance review letter (Cymraeg).docx"
LETTERHEAD = (("cy-GB", WELSH_ADDRESS), ("", CONTACT), ("en-GB", ENGLISH_ADDRESS))
ENGLISH_STATEMENT = "We welcome receiving correspondence in Welsh."
REVIEWER, TRANSLATOR = "U0REVIEW", "U0TRANSLATE"
Y2019 = ReviewYear(2019)


def approved_version(
    runtime, clock, session, language: Language, year: ReviewYear = Y2019
) -> DraftVersion:
    """Wrexham's letter (2019-20 unless another year is named) as version 1, approved in
    English by a reviewer."""
    clock.value = MADE
    wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
    wrexham.language = language
    draft = Draft(
        authority=wrexham,
        review_year=year.start_year,
        channel_id="G0REVIEW",
        created_by="U0INSPECT",
        created_at=MADE,
    )
    session.add(draft)
    session.flush()
    version = draft_versions.new_version(runtime, session, draft, actor="U0INSPECT", post=False)
    clock.value = APPROVED
    drafts.approve(runtime, session, version.version.id, user_id=REVIEWER)
    assert version.version.approved_at is not None
    return version.version


def as_translated(element: render.Element, number: int) -> str:
    """What a translator writes in the pack's Cymraeg column for one English row."""
    if element.text.startswith("Date: "):
        return "Dyddiad: 03 Awst 2020"
    if element.lang == "cy" or element.text.startswith("Cc."):
        return element.text  # already Welsh; the names of the bodies copied as they are
    if element.text.startswith(ENGLISH_STATEMENT):
        return ""  # left empty: the English statement stays English
    if element.kind == "heading":
        return f"Pennawd {number}"
    if element.kind == "item":
        return f"\u2022 Eitem {number} yn Gymraeg"  # the pack's bullet, copied
    if len(element.lines) > 1:
        return "\n".join(f"Llinell {n} o baragraff {number}" for n in range(len(element.lines)))
    return f"Paragraff {number} yn Gymraeg."


def upload_welsh(runtime, session, version: DraftVersion, data: bytes, *, approve: bool):
    """The translator's .docx recorded as the Welsh text (approved by a reviewer, or not)."""
    owed = translation.for_version(session, version.id)
    text = translation.record_upload(
        session,
        owed,
        read_welsh(data),
        file_id="F0WELSH",
        file_name="cymraeg.docx",
        message_ts=f"1596531600.{len(owed.texts):06d}",
        user_id=TRANSLATOR,
        now=runtime.now(),
    )
    if approve:
        translation.approve(session, text.id, user_id=REVIEWER, now=runtime.now(), required=1)
    return text


def filled_pack(runtime, version: DraftVersion) -> tuple[bytes, list[str]]:
    """The version's translation pack with its Cymraeg column written, and what was written."""
    pack = docx.Document(io.BytesIO(translation.pack_document(runtime, version.draft, version)))
    elements = render.parse(version.body)
    welsh = [as_translated(e, n) for n, e in enumerate(elements, start=1)]
    rows = pack.tables[0].rows[1:]
    assert len(rows) == len(elements)
    for row, text in zip(rows, welsh, strict=True):
        if text:
            row.cells[1].paragraphs[0].add_run(text)
    buffer = io.BytesIO()
    pack.save(buffer)
    return buffer.getvalue(), welsh


def shown(element: render.Element) -> str:
    """An element's text as Word shows it: a link by its label."""
    return "\n".join("".join(label for label, _ in render.segments(line)) for line in element.lines)


def opened(file: FinalFile) -> docx.document.Document:
    return docx.Document(io.BytesIO(file.content))


def body(file: FinalFile) -> list[str]:
    return [p.text for p in opened(file).paragraphs]


def headings(file: FinalFile) -> list[tuple[str, str]]:
    return [
        (p.style.name, p.text) for p in opened(file).paragraphs if p.style.name.startswith("Head")
    ]


def test_english_and_welsh_files_as_issued(domain):
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.BOTH)
        data, welsh = filled_pack(runtime, version)
        upload_welsh(runtime, session, version, data, approve=True)
        english_elements = render.parse(version.body)
        files = final_files(runtime, session, version, issued_on=ISSUED_ON)

    assert [f.language for f in files] == ["en", "cy"]
    english, cymraeg = files
    assert (english.name, cymraeg.name) == (ENGLISH_NAME, WELSH_NAME)
    assert english.title == "Wrexham County Borough Council 2019-20 performance review letter"
    assert cymraeg.title == "Llythyr adolygu perfformiad Cyngor Bwrdeistref Sirol Wrecsam 2019-20"
    for file, language in ((english, "en-GB"), (cymraeg, "cy-GB")):
        properties = opened(file).core_properties
        assert (properties.title, properties.language) == (file.title, language)
        assert properties.keywords == ""

    # The English letter is the approved text, dated the issue date instead of the day it
    # was made.
    expected = [shown(e) for e in english_elements]
    assert "Date: 03 August 2020" in expected
    expected[expected.index("Date: 03 August 2020")] = "Date: 03 December 2020"
    assert body(english) == expected
    assert headings(english)[0] == (
        "Heading 1",
        "Care Inspectorate Wales (CIW) Local Authority Performance Review April 2019 - March 2020",
    )
    assert opened(english).core_properties.subject == headings(english)[0][1]

    # The Welsh letter is the approved Welsh, row by row, dated the issue date in Welsh; the
    # row left empty keeps its English; a copied bullet is not typed into a real list item.
    wanted = []
    for element, text in zip(english_elements, welsh, strict=True):
        if text.startswith("Dyddiad"):
            wanted.append("Dyddiad: 3 Rhagfyr 2020")
        elif not text:
            wanted.append(shown(element))
        else:
            wanted.append(text.removeprefix("\u2022 "))
    assert body(cymraeg) == wanted
    assert "Awst" not in "\n".join(body(cymraeg))
    # The same headings at the same levels, in Welsh.
    assert [level for level, _ in headings(cymraeg)] == [level for level, _ in headings(english)]
    assert [text for _, text in headings(cymraeg)] == [
        text for e, text in zip(english_elements, welsh, strict=True) if e.kind == "heading"
    ]
    assert opened(cymraeg).core_properties.subject == headings(cymraeg)[0][1]
    items = [p for p in opened(cymraeg).paragraphs if p.style.name == "List Bullet"]
    assert len(items) == sum(e.kind == "item" for e in english_elements) > 0
    assert all(p.text.startswith("Eitem ") for p in items)

    # Accessible, with no DRAFT anywhere; every paragraph in the right language: the Welsh
    # statement Welsh in the English letter, what stayed English in the Welsh one English.
    statement = next(e.text for e in english_elements if e.lang == "cy")
    cc = next(e.text for e in english_elements if e.text.startswith("Cc."))
    english_statement = next(t for t in expected if t.startswith(ENGLISH_STATEMENT))
    assert_accessible(
        english.content, letterhead=LETTERHEAD, expected_languages={statement: "cy-GB"}
    )
    assert_accessible(
        cymraeg.content,
        letterhead=LETTERHEAD,
        expected_languages={english_statement: "en-GB", cc: "en-GB"},
    )
    footer = opened(cymraeg).sections[0].footer.paragraphs[0].text
    assert footer.startswith("Tudalen ")


def test_an_english_council_gets_the_english_file_only(domain):
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.EN)
        assert translation.for_version(session, version.id) is None
        files = final_files(runtime, session, version, issued_on=ISSUED_ON)
    assert [(f.language, f.name) for f in files] == [("en", ENGLISH_NAME)]
    text = body(files[0])
    assert "Date: 03 December 2020" in text
    assert "Cyngor Bwrdeistref Sirol Wrecsam" not in "\n".join(text)
    assert_accessible(
        files[0].content,
        letterhead=LETTERHEAD,
        expected_languages={t: "cy-GB" for t in text if t.startswith("Rydym yn croesawu")},
    )


def test_the_issue_date_is_the_one_given(domain):
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.EN)
        for day, line in (
            (dt.date(2020, 8, 4), "Date: 04 August 2020"),
            (dt.date(2021, 1, 15), "Date: 15 January 2021"),
        ):
            (english,) = final_files(runtime, session, version, issued_on=day)
            dates = [t for t in body(english) if t.startswith("Date:")]
            assert dates == [line]


def test_no_final_files_of_a_version_not_approved(domain):
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.EN)
        version.approved_at = None
        with pytest.raises(NotIssuable, match="version 1 is not approved"):
            final_files(runtime, session, version, issued_on=ISSUED_ON)


def test_never_a_welsh_letter_from_a_welsh_text_not_approved(domain):
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.CY)
        with pytest.raises(NotIssuable, match="Welsh text of version 1 is not approved"):
            final_files(runtime, session, version, issued_on=ISSUED_ON)  # nothing uploaded
        data, _ = filled_pack(runtime, version)
        upload_welsh(runtime, session, version, data, approve=False)
        with pytest.raises(NotIssuable, match="Welsh text of version 1 is not approved"):
            final_files(runtime, session, version, issued_on=ISSUED_ON)
        # An approved revision replaced by a newer one not yet approved is no final text.
        session.refresh(translation.for_version(session, version.id))
        first = translation.latest(translation.for_version(session, version.id))
        translation.approve(session, first.id, user_id=REVIEWER, now=runtime.now(), required=1)
        assert len(final_files(runtime, session, version, issued_on=ISSUED_ON)) == 2
        upload_welsh(runtime, session, version, data, approve=False)
        with pytest.raises(NotIssuable, match="not approved"):
            final_files(runtime, session, version, issued_on=ISSUED_ON)


def welsh_document(paragraphs: list[str]) -> bytes:
    """A Welsh .docx of the translator's own (not the pack): plain paragraphs."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_a_welsh_document_that_pairs_with_the_letter_keeps_its_structure(domain):
    # The translator worked in a copy of the draft file: its marking comes first.
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.CY)
        elements = render.parse(version.body)
        welsh = [as_translated(e, n) or e.text for n, e in enumerate(elements, start=1)]
        data = welsh_document(["DRAFT \u2013 version 1", *welsh])
        upload_welsh(runtime, session, version, data, approve=True)
        _, cymraeg = final_files(runtime, session, version, issued_on=ISSUED_ON)
    assert cymraeg.name == WELSH_NAME
    text = body(cymraeg)
    assert text[0] == welsh[0] and "Dyddiad: 3 Rhagfyr 2020" in text
    assert not any("DRAFT" in t for t in text)
    assert [level for level, _ in headings(cymraeg)] == [
        f"Heading {e.level}" for e in elements if e.kind == "heading"
    ]
    assert_accessible(
        cymraeg.content,
        letterhead=LETTERHEAD,
        expected_languages={t: "en-GB" for t in text if t.startswith((ENGLISH_STATEMENT, "Cc."))},
    )


def test_a_welsh_document_that_does_not_pair_is_set_as_plain_paragraphs_and_lists(domain):
    runtime, clock = domain
    own = [
        "Alwyn Jones\nCyfarwyddwr Gwasanaethau Cymdeithasol",
        "Dyddiad: 3ydd Awst 2020",
        "Annwyl Alwyn Jones,",
        "Mae'r llythyr hwn yn crynhoi ein hadolygiad.",
        "\u2022 cyfarfod adolygu perfformiad, 10 Ebrill 2019",
        "\u2022 cynhadledd wella, 3 Mai 2019",
        "Yn gywir,",
    ]
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.CY)
        upload_welsh(runtime, session, version, welsh_document(own), approve=True)
        _, cymraeg = final_files(runtime, session, version, issued_on=ISSUED_ON)
    document = opened(cymraeg)
    assert [p.text for p in document.paragraphs] == [
        own[0],
        "Dyddiad: 3 Rhagfyr 2020",
        *own[2:4],
        *(line.removeprefix("\u2022 ") for line in own[4:6]),
        own[6],
    ]
    styles = [p.style.name for p in document.paragraphs]
    assert styles[4:6] == ["List Bullet", "List Bullet"]
    assert_accessible(cymraeg.content, letterhead=LETTERHEAD, headings_required=False)


def test_the_progress_section_goes_through_the_pack_into_the_welsh_letter(domain):
    # The demo's 2020-21 letter reports progress on 2019-20's areas for improvement.
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.BOTH, ReviewYear(2020))
        elements = render.parse(version.body)
        pack = docx.Document(io.BytesIO(translation.pack_document(runtime, version.draft, version)))
        data, welsh = filled_pack(runtime, version)
        upload_welsh(runtime, session, version, data, approve=True)
        english, cymraeg = final_files(runtime, session, version, issued_on=ISSUED_ON)

    # In the pack, the section is rows like any other: its heading, each principle, each
    # paragraph, one row each, in the letter's order.
    heading = "Progress on areas for improvement from 2019-20"
    at = [e.text for e in elements].index(heading)
    section = elements[at : at + 7]
    assert [(e.kind, e.level) for e in section] == [
        ("heading", 2),
        ("heading", 3),
        ("paragraph", 0),
        ("heading", 3),
        ("paragraph", 0),
        ("heading", 3),
        ("paragraph", 0),
    ]
    assert elements[at + 7].text.startswith("Summary of strengths")
    rows = [row.cells[0].text for row in pack.tables[0].rows[1:]]
    assert rows[at : at + 7] == [e.text for e in section]

    # The English file prints it as approved; the Welsh file has the translator's rows in
    # its place, at the same heading levels.
    assert body(english)[at : at + 7] == [e.text for e in section]
    assert body(cymraeg)[at : at + 7] == welsh[at : at + 7]
    assert welsh[at] == f"Pennawd {at + 1}" and welsh[at + 2] == f"Paragraff {at + 3} yn Gymraeg."
    english_levels = [level for level, _ in headings(english)]
    assert [level for level, _ in headings(cymraeg)] == english_levels
    assert ("Heading 2", heading) in headings(english)
    assert ("Heading 2", welsh[at]) in headings(cymraeg)
    statement = next(e.text for e in elements if e.lang == "cy")
    assert_accessible(
        english.content, letterhead=LETTERHEAD, expected_languages={statement: "cy-GB"}
    )
    assert_accessible(
        cymraeg.content,
        letterhead=LETTERHEAD,
        expected_languages={
            t: "en-GB" for t in body(cymraeg) if t.startswith((ENGLISH_STATEMENT, "Cc."))
        },
    )
