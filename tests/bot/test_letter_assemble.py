"""Assembling the letter directly from records: the reference letter's content and order."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import docx
import pytest
from sqlalchemy import event, select

from bot import findings
from bot.dates import ReviewYear
from bot.letters import assemble, render
from bot.letters.docx import to_docx
from bot.render import Templates
from bot.settings import Settings
from db.demo import ACTIVITIES, FINDINGS, load_demo
from db.models import (
    Activity,
    ActivityStatus,
    Authority,
    Finding,
    FindingKind,
    Principle,
    Service,
)
from db.session import session_factory

REFERENCE = Path("/work/shared/reference/wrexham-2019-20-performance-review-letter.txt")
NOW = dt.datetime(2020, 8, 3, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2020, 8, 3)
Y2019 = ReviewYear(2019)
TITLES = {
    "well-being": "Well-being",
    "people": "People",
    "prevention": "Prevention",
    "partnerships": "Partnerships",
}


@pytest.fixture
def session(engine):
    with session_factory(engine)() as session, session.begin():
        yield session


@pytest.fixture
def wrexham(session) -> Authority:
    return session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()


def letter_text(session, authority, year=Y2019, settings=None):
    letter = assemble.assemble(
        session, authority, year, today=TODAY, settings=settings or Settings()
    )
    return letter, render.to_text(render.elements_of(Templates(), letter))


def section(text: str, start: str, end: str) -> str:
    """The text between a line equal to `start` and the next line equal to `end`."""
    lines = text.splitlines()
    i = lines.index(start)
    j = lines.index(end, i + 1)
    return "\n".join(lines[i + 1 : j])


def reference_lines(service_heading: str) -> list[str]:
    """The reference letter's activity lines under one heading, in the bot's line format."""
    text = REFERENCE.read_text()
    block = text.split(service_heading, 1)[1].split("\n\n\n")[0]
    block = block.split("\n\nAdults Services:")[0] if "Children" in service_heading else block
    lines = [line[2:].strip() for line in block.splitlines() if line.startswith("- ")]
    # The one line the reference writes without a comma before its date.
    return [
        line.replace("focused activity 22 January 2020", "focused activity, 22 January 2020")
        for line in lines
    ]


_MONTHS = "January February March April May June July August September October November December"


def first_date(line: str) -> dt.date:
    match = re.search(
        r", (\d{1,2})(?: (?:and|to) \d{1,2})? (" + _MONTHS.replace(" ", "|") + r") (\d{4})", line
    )
    assert match, line
    month = _MONTHS.split().index(match.group(2)) + 1
    return dt.date(int(match.group(3)), month, int(match.group(1)))


def test_demo_letter_carries_every_reference_activity_line_under_its_service_in_date_order(
    session, wrexham
):
    load_demo(session, now=NOW)
    _, text = letter_text(session, wrexham)
    children = section(text, "Children's Services:", "Adults Services:")
    adults = section(
        text,
        "Adults Services:",
        "Summary of strengths and areas for improvement in line with principles of the 2014 Act",
    )
    expected_children = reference_lines("Children's Services:\n")
    expected_adults = reference_lines("Adults Services:\n")
    assert len(expected_children) == 8 and len(expected_adults) == 3
    for line in expected_children:
        assert f"- {line}\n" in children + "\n", line
        assert line not in adults or line.startswith(("performance review", "practice and"))
    for line in expected_adults:
        assert f"- {line}\n" in adults + "\n", line
    for block in (children, adults):
        listed = [line[2:] for line in block.splitlines() if line.startswith("- ")]
        dates = [first_date(line) for line in listed]
        assert dates == sorted(dates)
    # `both` activities appear under each service.
    assert "- performance review meeting, 10 April 2019" in children
    assert "- performance review meeting, 10 April 2019" in adults


def test_demo_letter_states_every_finding_under_its_principle_and_kind(session, wrexham):
    load_demo(session, now=NOW)
    _, text = letter_text(session, wrexham)
    order = [
        "Well-being",
        "People",
        "Prevention",
        "Partnerships",
        "CIW Performance Review Plan for 2020-2021",
    ]
    for principle, kind, _service, finding in FINDINGS:
        title = TITLES[principle.value]
        body = section(text, title, order[order.index(title) + 1])
        strengths, _, improvements = body.partition("Areas for improvement:")
        where = strengths if kind is FindingKind.STRENGTH else improvements
        assert finding in where, (principle, kind, finding)
    # Children's findings are labelled as such, adults' too.
    assert "Adults services: The CMHT inspection identified delays in responding to people." in text


def test_letter_follows_the_reference_order(session, wrexham):
    load_demo(session, now=NOW)
    _, text = letter_text(session, wrexham)
    lines = text.splitlines()
    assert lines[:6] == [
        "Alwyn Jones",
        "Director of Social Services",
        "Wrexham County Borough Council",
        "The Guildhall",
        "Wrexham",
        "LL11 1AY",
    ]
    anchors = [
        "Date: 3 August 2020",
        "Dear Alwyn Jones,",
        "Care Inspectorate Wales (CIW) Local Authority Performance Review April 2019 - March 2020",
        "- outline our forward work programme",
        "Rydym yn croesawu derbyn gohebiaeth yn Gymraeg.",
        "We welcome receiving correspondence in Welsh.",
        "The content of this letter is informed",
        "Children's Services:",
        "Adults Services:",
        "Summary of strengths and areas for improvement in line with principles of the 2014 Act",
        "Well-being",
        "People",
        "Prevention",
        "Partnerships",
        "CIW Performance Review Plan for 2020-2021",
        "Yours sincerely,",
        "Lou Bushell-Bauers",
        "Head of Local Authority Inspection Team",
        "Cc.",
    ]
    positions = [
        next(i for i, line in enumerate(lines) if line.startswith(anchor)) for anchor in anchors
    ]
    assert positions == sorted(positions)
    assert text.rstrip().endswith("Cc.\nAudit Wales\nHIW\nEstyn")


def test_postponed_and_cancelled_activities_say_so_with_their_reason(session, wrexham):
    load_demo(session, now=NOW)
    session.add(
        Activity(
            authority=wrexham,
            service=Service.ADULTS,
            title="focused activity",
            details=None,
            start_date=dt.date(2020, 3, 18),
            end_date=dt.date(2020, 3, 18),
            status=ActivityStatus.POSTPONED,
            status_reason="COVID-19 restrictions",
            logged_by="U1",
        )
    )
    session.add(
        Activity(
            authority=wrexham,
            service=Service.ADULTS,
            title="old plan",
            details=None,
            start_date=dt.date(2020, 5, 5),
            end_date=dt.date(2020, 5, 5),
            status=ActivityStatus.CANCELLED,
            status_reason="not needed",
            logged_by="U1",
        )
    )
    session.flush()
    _, text = letter_text(session, wrexham)
    adults = section(
        text,
        "Adults Services:",
        "Summary of strengths and areas for improvement in line with principles of the 2014 Act",
    )
    assert (
        "- annual performance review meeting, 24 March 2020 (cancelled: unable to complete "
        "due to the unprecedented circumstances relating to COVID-19)"
    ) in adults
    assert "- focused activity, 18 March 2020 (postponed: COVID-19 restrictions)" in adults
    plan = text.split("CIW Performance Review Plan for 2020-2021", 1)[1].split("Yours sincerely")[0]
    assert (
        "- focused activity to qualify progress in children's services, 21 and 22 April 2020 "
        "(postponed due to the COVID-19 circumstances)"
    ) in plan
    assert "(postponed: all activity paused during the COVID-19 emergency)" in plan
    # Next year's cancelled activity is not planned; this year's postponed one is carried over.
    assert "old plan" not in text
    assert (
        "was postponed and will be rearranged with you:\n\n- focused activity, 18 March 2020 "
        "(postponed: COVID-19 restrictions)"
    ) in plan


def test_principle_with_nothing_recorded_says_so(session, wrexham):
    findings.log_finding(
        session,
        authority=wrexham,
        year=Y2019,
        principle=Principle.PEOPLE,
        kind=FindingKind.STRENGTH,
        service=None,
        activity=None,
        text="Staff know the families well.",
        actor="U1",
        today=TODAY,
        now=NOW,
    )
    _, text = letter_text(session, wrexham)
    wellbeing = section(text, "Well-being", "People")
    assert "No strengths or areas for improvement were recorded under this principle" in wellbeing
    people = section(text, "People", "Prevention")
    assert "Strengths:\n\nStaff know the families well." in people
    assert "Areas for improvement" not in people
    assert "No activity in children's services was recorded for April 2019 - March 2020." in text
    assert "No performance evaluation activity has been scheduled yet for April 2020" in text


def test_removed_records_and_other_years_stay_out(session, wrexham):
    load_demo(session, now=NOW)
    gone = session.scalars(select(Finding).where(Finding.principle == Principle.PREVENTION)).first()
    gone.removed_at = NOW
    findings.log_finding(
        session,
        authority=wrexham,
        year=ReviewYear(2018),
        principle=Principle.PEOPLE,
        kind=FindingKind.STRENGTH,
        service=None,
        activity=None,
        text="Last year's point.",
        actor="U1",
        today=TODAY,
        now=NOW,
    )
    _, text = letter_text(session, wrexham)
    assert gone.text not in text
    assert "Last year's point." not in text


def test_signatory_and_cc_come_from_settings(session, wrexham):
    settings = Settings(
        signatory_name="Gwen Evans",
        signatory_title="Head of Inspection",
        letter_cc=("Audit Wales", "Estyn"),
    )
    _, text = letter_text(session, wrexham, settings=settings)
    assert "Yours sincerely,\n\nGwen Evans\nHead of Inspection\n\nCc.\nAudit Wales\nEstyn" in text
    assert "copied to colleagues in Audit Wales and Estyn." in text


def test_typed_text_cannot_become_letter_structure(session, wrexham):
    wrexham.director = "- Alwyn\nJones"
    for text in ["# Not a heading", "- not a list", "\\ backslash", "line one\nline two"]:
        findings.log_finding(
            session,
            authority=wrexham,
            year=Y2019,
            principle=Principle.PEOPLE,
            kind=FindingKind.STRENGTH,
            service=None,
            activity=None,
            text=text,
            actor="U1",
            today=TODAY,
            now=NOW,
        )
    letter, text = letter_text(session, wrexham)
    elements = render.elements_of(Templates(), letter)
    headings = [e.text for e in elements if e.kind == "heading"]
    assert "Not a heading" not in headings
    paragraphs = [e.text for e in elements if e.kind == "paragraph"]
    for typed in ["# Not a heading", "- not a list", "\\ backslash", "line one line two"]:
        assert typed in paragraphs
    assert text.startswith("- Alwyn Jones\nDirector of Social Services")
    assert render.parse(render.to_markup(elements)) == elements
    markdown = render.to_markdown(elements)
    assert "\\# Not a heading" in markdown and "\\- not a list" in markdown


def test_assembly_reads_a_fixed_number_of_statements(session, wrexham):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def measure() -> int:
        statements.clear()
        session.expire_all()
        event.listen(session.bind, "before_cursor_execute", count)
        try:
            letter_text(session, wrexham)
        finally:
            event.remove(session.bind, "before_cursor_execute", count)
        return len(statements)

    def add(n: int) -> None:
        for i in range(n):
            session.add(
                Activity(
                    authority=wrexham,
                    service=Service.BOTH,
                    title=f"visit {i}",
                    details=None,
                    start_date=dt.date(2019, 5, 1),
                    end_date=dt.date(2019, 5, 1),
                    status=ActivityStatus.COMPLETED,
                    logged_by="U1",
                )
            )
            session.add(
                Finding(
                    authority=wrexham,
                    review_year=2019,
                    principle=Principle.PEOPLE,
                    kind=FindingKind.STRENGTH,
                    text=f"point {i}",
                    created_by="U1",
                )
            )
        session.flush()

    add(5)
    few = measure()
    add(200)
    many = measure()
    # The two reads of the letter, plus reloading the (expired) authority itself.
    assert few == many <= 3


def test_docx_has_headings_lists_and_the_address_block(session, wrexham):
    load_demo(session, now=NOW)
    letter, _ = letter_text(session, wrexham)
    data = to_docx(render.elements_of(Templates(), letter), title="Draft letter")
    document = docx.Document(io.BytesIO(data))
    paragraphs = document.paragraphs
    assert paragraphs[0].text.split("\n") == [
        "Alwyn Jones",
        "Director of Social Services",
        "Wrexham County Borough Council",
        "The Guildhall",
        "Wrexham",
        "LL11 1AY",
    ]
    styles = {p.text: p.style.name for p in paragraphs}
    assert styles["Children's Services:"] == "Heading 2"
    assert styles["Well-being"] == "Heading 3"
    assert (
        styles[
            "Care Inspectorate Wales (CIW) Local Authority Performance Review April 2019 - "
            "March 2020"
        ]
        == "Heading 1"
    )
    assert (
        styles["focused activity, 22 January 2020, review of one specific case of concern"]
        == "List Bullet"
    )
    assert document.core_properties.title == "Draft letter"
    assert len([a for a in ACTIVITIES if a[0] is Service.BOTH]) == 3
