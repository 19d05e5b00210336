"""The demo letter beside the published reference letter, section by section.

The reference is the standard (SPEC "As CIW writes it"): every paragraph of fixed wording
and every note must read as the reference's, activity lines must be the reference's, and
each principle must have as many paragraphs as the reference gives it (the findings are in
our own words, so their sentences differ).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.demo import FINDINGS, NOTES, load_demo
from bot.letters import assemble, render
from bot.records.dates import ReviewYear
from bot.render import Templates
from bot.settings import Settings
from db.models import Authority
from db.session import session_factory

REFERENCE = Path("/work/shared/reference/wrexham-2019-20-performance-review-letter.txt")
# The day the reference letter is dated.
TODAY = dt.date(2020, 8, 3)
NOW = dt.datetime(2020, 8, 3, 9, 0, tzinfo=dt.UTC)
HEADINGS = [
    "Care Inspectorate Wales (CIW) Local Authority Performance Review April 2019 - March 2020",
    "Children's Services:",
    "Adults Services:",
    "Summary of strengths and areas for improvement in line with principles of the 2014 Act",
    "Well-being",
    "People",
    "Prevention",
    "Partnerships",
    "CIW Performance Review Plan for 2020-2021",
]
PRINCIPLES = ["Well-being", "People", "Prevention", "Partnerships"]

pytestmark = pytest.mark.skipif(not REFERENCE.exists(), reason="reference letter not present")


def reference_paragraphs() -> list[str]:
    """The reference's paragraphs as the letter's body holds them: the letterhead (the Word
    file's first-page header in ours), the signature image's description and the page break
    inside the JICPA paragraph taken out."""
    text = REFERENCE.read_text()
    head, rest = text.split("Arolygiaeth Gofal Cymru (AGC)", 1)
    text = head + rest.split("www.careinspectorate.wales", 1)[1]
    text = text.replace("new ways\n\nof working", "new ways of working")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return [p for p in paragraphs if not p.startswith("A handwritten signature")]


def split_items(paragraphs: list[str]) -> list[str]:
    """A run of `- ` lines is one paragraph in the reference's text; one item each in ours."""
    out = []
    for paragraph in paragraphs:
        lines = paragraph.split("\n")
        if all(line.startswith("- ") for line in lines):
            out.extend(lines)
        else:
            out.append(paragraph)
    return out


def sections(paragraphs: list[str]) -> dict[str, list[str]]:
    """Paragraphs keyed by the heading they follow ("" before the first)."""
    found: dict[str, list[str]] = {"": []}
    current = ""
    for paragraph in paragraphs:
        if paragraph in HEADINGS:
            current = paragraph
            found[current] = []
        else:
            found[current].append(paragraph)
    return found


@pytest.fixture
def ours(engine) -> dict[str, list[str]]:
    with session_factory(engine)() as session, session.begin():
        load_demo(session, now=NOW)
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        letter = assemble.assemble(
            session, wrexham, ReviewYear(2019), today=TODAY, settings=Settings()
        )
        text = render.to_text(render.elements_of(Templates(), letter))
    # Links are compared by their label: the reference's text export drops the address.
    text = text.replace("report (https://www.careinspectorate.wales)", "[report](#)")
    return sections(split_items([p.strip() for p in text.split("\n\n") if p.strip()]))


@pytest.fixture
def reference() -> dict[str, list[str]]:
    return sections(split_items(reference_paragraphs()))


def test_same_headings_in_the_same_order(ours, reference):
    assert list(ours) == list(reference) == ["", *HEADINGS]


def test_addressee_date_and_greeting_as_the_reference(ours, reference):
    assert ours[""] == reference[""]
    assert reference[""][1] == "Date: 03 August 2020"


def test_introduction_statement_and_closing_word_for_word(ours, reference):
    # Introduction (with the COVID-19 note), the Welsh statement, the lead-in to the lists.
    assert ours[HEADINGS[0]] == reference[HEADINGS[0]]


def test_activity_lines_are_the_references(ours, reference):
    for heading in ("Children's Services:", "Adults Services:"):
        ours_items = [p for p in ours[heading] if p.startswith("- ")]
        theirs = [
            p.replace("focused activity 22 January", "focused activity, 22 January")
            for p in reference[heading]
            if p.startswith("- ")
        ]
        # Ours are in date order; the reference lists one out of order.
        assert sorted(ours_items) == sorted(theirs)
        assert [p for p in ours[heading] if not p.startswith("- ")] == [
            p for p in reference[heading] if not p.startswith("- ")
        ]


def test_each_principle_has_the_references_paragraphs(ours, reference):
    assert ours[HEADINGS[3]] == reference[HEADINGS[3]] == []
    notes = {text for _, text in NOTES}
    for principle in PRINCIPLES:
        assert len(ours[principle]) == len(reference[principle]), principle
        for paragraph in ours[principle]:
            if paragraph.replace("[report](#)", "[report](https://www.careinspectorate.wales)") in (
                notes
            ):
                # A note is CIW's own narrative: word for word.
                assert paragraph in reference[principle]
            else:
                assert paragraph in {text for *_, text in FINDINGS}
                assert not paragraph.startswith(("Strengths:", "Children's services:"))


def test_plan_signature_and_cc_word_for_word(ours, reference):
    assert ours[HEADINGS[-1]] == reference[HEADINGS[-1]]
