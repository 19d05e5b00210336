"""The letter's progress section: where it stands, what it holds and in what order, when it
is left out, and what the completeness check says of last year's areas for improvement with
no progress; the demo's 2020-21 letter beside the reference letter, as its 2019-20 letter is
compared in test_reference."""

from __future__ import annotations

import datetime as dt
import io

import docx
import pytest
from sqlalchemy import select

from bot.demo import FINDINGS, PROGRESS_2020, load_demo
from bot.letters import assemble, render
from bot.letters.check import completeness
from bot.letters.docx import to_docx
from bot.records import findings, progress
from bot.records.dates import ReviewYear
from bot.render import Templates
from bot.settings import Settings
from db.models import Authority, FindingKind, Principle, Service
from db.session import session_factory
from templates.letters.make_template import CONTACT, ENGLISH_ADDRESS, WELSH_ADDRESS
from tests.bot.letters.test_reference import (
    HEADINGS,
    REFERENCE,
    reference_paragraphs,
    sections,
    split_items,
)
from tests.bot.records.test_progress import finding
from tests.bot.records.test_progress import record as answer
from tests.docx_checks import assert_accessible

NOW = dt.datetime(2021, 6, 1, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2021, 6, 1)
Y2018, Y2019, Y2020 = ReviewYear(2018), ReviewYear(2019), ReviewYear(2020)
PROGRESS_HEADING = "Progress on areas for improvement from 2019-20"
SUMMARY = HEADINGS[3]
TITLES = {
    Principle.WELL_BEING: "Well-being",
    Principle.PEOPLE: "People",
    Principle.PREVENTION: "Prevention",
    Principle.PARTNERSHIPS: "Partnerships",
}
LETTERHEAD = (("cy-GB", WELSH_ADDRESS), ("", CONTACT), ("en-GB", ENGLISH_ADDRESS))


@pytest.fixture
def session(engine):
    with session_factory(engine)() as session, session.begin():
        yield session


def authority(session, slug="wrexham") -> Authority:
    return session.scalars(select(Authority).where(Authority.slug == slug)).one()


def letter_of(session, slug="wrexham", year=Y2020):
    letter = assemble.assemble(
        session, authority(session, slug), year, today=TODAY, settings=Settings()
    )
    return letter, render.elements_of(Templates(), letter)


def paragraphs_of(elements) -> list[str]:
    """The letter as the reference's text is cut: one entry a paragraph, heading or item."""
    text = render.to_text(elements)
    return split_items([p.strip() for p in text.split("\n\n") if p.strip()])


def section_of(elements, start: str, end: str = SUMMARY) -> list:
    """The elements after the heading `start` up to the heading `end`."""
    texts = [e.text for e in elements]
    return elements[texts.index(start) + 1 : texts.index(end)]


def between(elements, start: str, end: str = SUMMARY) -> list[str]:
    """The texts of the elements after the heading `start` up to the heading `end`."""
    return [e.text for e in section_of(elements, start, end)]


# -- the demo's 2020-21 letter beside the reference -----------------------------------------
@pytest.mark.skipif(not REFERENCE.exists(), reason="reference letter not present")
def test_the_demo_2020_21_letter_reports_progress_as_the_reference_lays_out_its_sections(session):
    load_demo(session, now=NOW)
    _, elements = letter_of(session)
    ours = sections(paragraphs_of(elements))
    reference = sections(split_items(reference_paragraphs()))
    # The reference's headings, for the next year, with the progress section between the
    # activities and the summary; its sub-headings are the summary's own, in its order.
    headings = [e.text for e in elements if e.kind == "heading"]
    assert headings == [
        HEADINGS[0].replace("April 2019 - March 2020", "April 2020 - March 2021"),
        "Children's Services:",
        "Adults Services:",
        PROGRESS_HEADING,
        "Well-being",
        "People",
        "Prevention",
        *HEADINGS[3:8],
        "CIW Performance Review Plan for 2021-2022",
    ]
    assert [e.level for e in elements if e.kind == "heading"] == [
        1,
        2,
        2,
        2,
        3,
        3,
        3,
        2,
        3,
        3,
        3,
        3,
        2,
    ]
    # Just before it, the reference's closing sentence of the activities, word for word.
    texts = [e.text for e in elements]
    assert texts[texts.index(PROGRESS_HEADING) - 1] == reference["Adults Services:"][-1]
    # Each progress paragraph under the principle of the improvement it answers, in the
    # findings' order, as the demo recorded it (word for word).
    expected: list[str] = []
    for index, text in sorted(PROGRESS_2020, key=lambda p: p[0]):
        title = TITLES[FINDINGS[index][0]]
        if title not in expected:
            expected.append(title)
        expected.append(text)
    assert between(elements, PROGRESS_HEADING, SUMMARY) == expected
    assert all(
        e.kind == "paragraph" and e.lang is None
        for e in elements
        if e.text in {text for _, text in PROGRESS_2020}
    )
    # The summary that follows is the year's own findings, as for 2019-20.
    assert ours[SUMMARY] == reference[SUMMARY] == []


def test_the_demo_2020_21_draft_flags_the_improvement_with_no_progress(session):
    load_demo(session, now=NOW)
    letter, _ = letter_of(session)
    unanswered = [i for i, f in enumerate(FINDINGS) if f[1] is FindingKind.IMPROVEMENT]
    unanswered = [i for i in unanswered if i not in {index for index, _ in PROGRESS_2020}]
    assert unanswered == [4]
    (warning,) = completeness(letter)
    assert warning == {
        "code": "no_progress",
        "ref": "F5",
        "words": "What CMHT staff told us about their workload and about …",
        "year": "2020-21",
        "from_year": "2019-20",
        "authority": "wrexham",
    }
    said = Templates().message("draft_warnings", warnings=[warning])
    assert (
        "• No progress recorded for 2020-21 on F5, an area for improvement of 2019-20 (What CMHT "
        "staff told us about their workload and about …): `/ciw progress F5 2020-21 <text>`"
    ) in said


def test_the_demo_2019_20_letter_has_no_progress_section(session):
    # 2018-19 had no areas for improvement: nothing to report on, nothing flagged.
    load_demo(session, now=NOW)
    letter, elements = letter_of(session, year=Y2019)
    assert letter.progress_from == () and letter.progress == () and letter.unanswered == ()
    assert not any(e.text.startswith("Progress on areas") for e in elements)
    assert completeness(letter) == []


# -- when the section is there, and what it holds -------------------------------------------
def test_no_section_without_last_years_improvements_even_with_its_strengths(session):
    finding(session, "A strength last year.", kind=FindingKind.STRENGTH)
    finding(session, "An improvement two years ago.", year=ReviewYear(2018))
    finding(session, "An improvement this year.", year=Y2020)
    letter, elements = letter_of(session)
    assert letter.progress_from == () and letter.unanswered == ()
    assert "Progress on areas for improvement" not in render.to_text(elements)
    assert not [w for w in completeness(letter) if w["code"] == "no_progress"]


def test_last_years_improvements_with_no_progress_say_so_and_are_each_flagged(session):
    second = finding(session, "Adults waited too long for assessment.", service=Service.ADULTS)
    first = finding(session, "Visits were late.", principle=Principle.WELL_BEING)
    letter, elements = letter_of(session)
    assert between(elements, PROGRESS_HEADING, SUMMARY) == [
        "No progress on these areas for improvement was recorded for April 2020 - March 2021."
    ]
    flagged = [(w["ref"], w["words"]) for w in completeness(letter) if w["code"] == "no_progress"]
    assert flagged == [
        (f"F{first.id}", "Visits were late."),
        (f"F{second.id}", "Adults waited too long for assessment."),
    ]
    # Answered, it is no longer flagged.
    answer(session, first, "Visits are on time.")
    letter, _ = letter_of(session)
    assert [w["ref"] for w in completeness(letter) if w["code"] == "no_progress"] == [
        f"F{second.id}"
    ]


def test_progress_goes_in_the_findings_order_under_its_principle(session):
    # Recorded in no order: the letter puts them by principle, then children's, adults',
    # both and no service, then the improvement's record order, then the progress's.
    both = finding(session, "people both", service=Service.BOTH)
    none = finding(session, "people none")
    adults = finding(session, "people adults", service=Service.ADULTS)
    children = finding(session, "people children", service=Service.CHILDREN)
    partnerships = finding(session, "partnerships", principle=Principle.PARTNERSHIPS)
    early = finding(session, "well-being", principle=Principle.WELL_BEING, service=Service.BOTH)
    later_adults = finding(session, "people adults, later", service=Service.ADULTS)
    finding(session, "prevention, unanswered", principle=Principle.PREVENTION)
    for improvement, text in [
        (partnerships, "On partnerships."),
        (none, "On people, no service."),
        (later_adults, "On the later adults' one."),
        (both, "On people, both."),
        (adults, "On adults, first."),
        (early, "On well-being."),
        (children, "On children."),
        (adults, "On adults, second."),
    ]:
        answer(session, improvement, text)
    _, elements = letter_of(session)
    assert between(elements, PROGRESS_HEADING, SUMMARY) == [
        "Well-being",
        "On well-being.",
        "People",
        "On children.",
        "On adults, first.",
        "On adults, second.",
        "On the later adults' one.",
        "On people, both.",
        "On people, no service.",
        "Partnerships",
        "On partnerships.",
    ]
    assert {e.level for e in section_of(elements, PROGRESS_HEADING) if e.kind == "heading"} == {3}


def test_removed_progress_and_progress_on_a_removed_finding_are_not_printed(session):
    kept = finding(session, "Kept.")
    dropped = finding(session, "Dropped.", principle=Principle.PREVENTION)
    removed = answer(session, kept, "Removed progress.")
    answer(session, kept, "Kept progress.")
    answer(session, dropped, "On a finding removed.")
    progress.remove(session, removed, actor="U1", now=NOW)
    findings.remove(session, dropped, actor="U1", now=NOW)
    _, elements = letter_of(session)
    assert between(elements, PROGRESS_HEADING, SUMMARY) == ["People", "Kept progress."]


def test_progress_on_an_older_improvement_is_printed_and_named_in_the_heading(session):
    older = finding(session, "Two years ago.", year=Y2018)
    answer(session, older, "Answered at last.")
    letter, elements = letter_of(session)
    # Nothing of 2019-20 to report on, but the progress recorded is not dropped.
    heading = "Progress on areas for improvement from 2018-19"
    assert between(elements, heading, SUMMARY) == ["People", "Answered at last."]
    assert letter.unanswered == ()
    finding(session, "Last year.")
    _, elements = letter_of(session)
    assert "Progress on areas for improvement from 2018-19 and 2019-20" in [
        e.text for e in elements if e.kind == "heading"
    ]


def test_typed_progress_cannot_become_letter_structure(session):
    improvement = finding(session, "Visits were late.")
    for text in ["# Not a heading", "- not a list", "@cy not Welsh", "line one\nline two"]:
        answer(session, improvement, text)
    _, elements = letter_of(session)
    assert between(elements, PROGRESS_HEADING, SUMMARY) == [
        "People",
        "# Not a heading",
        "- not a list",
        "@cy not Welsh",
        "line one line two",
    ]
    assert [e.kind for e in elements if e.text.startswith(("# Not", "- not", "@cy"))] == [
        "paragraph"
    ] * 3
    assert render.parse(render.to_markup(elements)) == elements


def test_the_word_file_keeps_the_sections_heading_levels_and_stays_accessible(session):
    load_demo(session, now=NOW)
    _, elements = letter_of(session)
    data = to_docx(elements, title="Wrexham 2020-21", approved=True)
    document = docx.Document(io.BytesIO(data))
    styles = {p.text: p.style.name for p in document.paragraphs}
    assert styles[PROGRESS_HEADING] == "Heading 2"
    assert styles[PROGRESS_2020[0][1]] == "Normal"
    headings = [
        (p.style.name, p.text) for p in document.paragraphs if p.style.name.startswith("Heading")
    ]
    at = headings.index(("Heading 2", PROGRESS_HEADING))
    assert headings[at + 1 : at + 4] == [
        ("Heading 3", "Well-being"),
        ("Heading 3", "People"),
        ("Heading 3", "Prevention"),
    ]
    statement = next(e.text for e in elements if e.lang == "cy")
    assert_accessible(data, letterhead=LETTERHEAD, expected_languages={statement: "cy-GB"})
