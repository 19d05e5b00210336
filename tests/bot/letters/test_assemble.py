"""Assembling the letter directly from records: the reference letter's content and order."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
from pathlib import Path

import docx
import pytest
from sqlalchemy import event, select

from bot.demo import ACTIVITIES, FINDINGS, load_demo
from bot.letters import assemble, render
from bot.letters.check import completeness
from bot.letters.docx import to_docx
from bot.records import findings
from bot.records.dates import ReviewYear
from bot.render import Templates
from bot.settings import Settings
from db.models import (
    Activity,
    ActivityStatus,
    Authority,
    Finding,
    FindingKind,
    Principle,
    Progress,
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


def test_demo_letter_states_every_finding_as_a_paragraph_under_its_principle(session, wrexham):
    load_demo(session, now=NOW)
    letter, text = letter_text(session, wrexham)
    order = [
        "Well-being",
        "People",
        "Prevention",
        "Partnerships",
        "CIW Performance Review Plan for 2020-2021",
    ]
    paragraphs = {e.text for e in render.elements_of(Templates(), letter) if e.kind == "paragraph"}
    for principle, _kind, _service, finding in FINDINGS:
        title = TITLES[principle.value]
        body = section(text, title, order[order.index(title) + 1])
        assert f"\n{finding}\n" in f"\n{body}\n", (principle, finding)
        assert finding in paragraphs
    # No labels and no service prefixes: the findings read as the letter's own paragraphs.
    for label in (
        "Strengths:",
        "Areas for improvement:",
        "Children's services:",
        "Adults services:",
    ):
        assert label not in text


def test_findings_go_childrens_then_adults_then_both_in_the_order_written(session, wrexham):
    for service, words in [
        (Service.BOTH, "Both first written."),
        (Service.ADULTS, "Adults first written."),
        (None, "For no service."),
        (Service.CHILDREN, "Children's second written."),
        (Service.ADULTS, "Adults second written."),
    ]:
        findings.log_finding(
            session,
            authority=wrexham,
            year=Y2019,
            principle=Principle.PEOPLE,
            kind=FindingKind.IMPROVEMENT if "second" in words else FindingKind.STRENGTH,
            service=service,
            activity=None,
            text=words,
            actor="U1",
            today=TODAY,
            now=NOW,
        )
    _, text = letter_text(session, wrexham)
    assert section(text, "People", "Prevention").strip().split("\n\n") == [
        "Children's second written.",
        "Adults first written.",
        "Adults second written.",
        "Both first written.",
        "For no service.",
    ]


def test_a_template_setting_brings_back_labels_and_service_prefixes(session, wrexham, tmp_path):
    load_demo(session, now=NOW)
    root = tmp_path / "templates"
    shutil.copytree(Path(__file__).resolve().parents[3] / "templates", root)
    letter_j2 = root / "letters" / "letter.j2"
    letter_j2.write_text(
        letter_j2.read_text()
        .replace("{% set show_labels = false %}", "{% set show_labels = true %}")
        .replace("{% set show_services = false %}", "{% set show_services = true %}")
    )
    letter = assemble.assemble(session, wrexham, Y2019, today=TODAY, settings=Settings())
    text = render.to_text(render.elements_of(Templates(root), letter))
    prevention = section(text, "Prevention", "Partnerships")
    strengths, _, improvements = prevention.partition("Areas for improvement:")
    assert strengths.strip().startswith("Strengths:")
    assert "Adults services: The CMHT inspection found delays" in improvements


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
        "Date: 03 August 2020",
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


def _activity(wrexham, title, start, status, reason=None, service=Service.ADULTS):
    return Activity(
        authority=wrexham,
        service=service,
        title=title,
        details=None,
        start_date=start,
        end_date=start,
        status=status,
        status_reason=reason,
        logged_by="U1",
    )


def test_each_activity_appears_once_with_its_status(session, wrexham):
    load_demo(session, now=NOW)
    sched, post, canc = ActivityStatus.SCHEDULED, ActivityStatus.POSTPONED, ActivityStatus.CANCELLED
    session.add_all(
        [
            _activity(
                wrexham, "focused activity", dt.date(2020, 3, 18), post, "COVID-19 restrictions"
            ),
            _activity(wrexham, "annual meeting", dt.date(2020, 3, 24), canc, "due to COVID-19"),
            _activity(wrexham, "old plan", dt.date(2020, 5, 5), canc, "not needed"),
            _activity(
                wrexham, "qualifying visit", dt.date(2020, 4, 21), post, "postponed: COVID-19"
            ),
            _activity(wrexham, "autumn review", dt.date(2020, 10, 6), sched),
            _activity(wrexham, "missed check", dt.date(2020, 6, 1), sched),
            _activity(wrexham, "unmarked visit", dt.date(2020, 2, 2), sched),
        ]
    )
    session.flush()
    letter, text = letter_text(session, wrexham)
    adults = section(
        text,
        "Adults Services:",
        "Summary of strengths and areas for improvement in line with principles of the 2014 Act",
    )
    assert "- focused activity, 18 March 2020 (postponed: COVID-19 restrictions)" in adults
    assert "- annual meeting, 24 March 2020 (cancelled: due to COVID-19)" in adults
    plan = text.split("CIW Performance Review Plan for 2020-2021", 1)[1].split("We continue")[0]
    assert "- qualifying visit, 21 April 2020 (postponed: COVID-19)" in plan
    assert "- autumn review, 6 October 2020\n" in plan
    # Next year's cancelled activity is not planned; one whose date passed is not "planned".
    assert "old plan" not in text and "missed check" not in text
    # Every activity line is printed once (a `both` one once under each service).
    for title in ("focused activity, 18", "annual meeting", "qualifying visit", "autumn review"):
        assert text.count(title) == 1, title
    assert "was postponed and will be rearranged" not in text
    # The scheduled ones whose dates passed are what the review message flags.
    assert [item.line for item in letter.overdue] == [
        "unmarked visit, 2 February 2020",
        "missed check, 1 June 2020",
    ]


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
    # The sentence names them alphabetically, as the reference does; the Cc lines keep order.
    _, text = letter_text(session, wrexham, settings=Settings(letter_cc=("HIW", "Audit Wales")))
    assert "copied to colleagues in Audit Wales and HIW." in text
    assert text.rstrip().endswith("Cc.\nHIW\nAudit Wales")


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
            # Last year's area for improvement, and this year's progress on it.
            improvement = Finding(
                authority=wrexham,
                review_year=2018,
                principle=Principle(list(Principle)[i % 4]),
                kind=FindingKind.IMPROVEMENT,
                text=f"improve {i}",
                created_by="U1",
            )
            session.add(improvement)
            session.add(
                Progress(
                    authority_id=wrexham.id,
                    finding=improvement,
                    review_year=2019,
                    text=f"progress {i}",
                    created_by="U1",
                )
            )
        session.flush()

    add(5)
    few = measure()
    add(200)
    many = measure()
    # The four reads of the letter (activities; findings with last year's improvements;
    # notes; progress with the improvements it answers), plus reloading the (expired)
    # authority itself.
    assert few == many <= 5
    letter, text = letter_text(session, wrexham)
    assert sum(len(s.items) for s in letter.progress) == 205 and "progress 199" in text


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
    assert len([a for a in ACTIVITIES if a[0] is Service.BOTH]) == 2


def test_completeness_check_says_what_the_letter_lacks(session, wrexham):
    load_demo(session, now=NOW)
    letter, _ = letter_text(session, wrexham)
    assert completeness(letter) == []
    cardiff = session.scalars(select(Authority).where(Authority.slug == "cardiff")).one()
    empty, _ = letter_text(session, cardiff)
    assert [w["code"] for w in completeness(empty)] == [
        "no_director",
        "no_address",
        "empty_principle",
        "empty_principle",
        "empty_principle",
        "empty_principle",
        "empty_plan",
    ]
    session.add(_activity(wrexham, "missed check", dt.date(2020, 6, 1), ActivityStatus.SCHEDULED))
    session.flush()
    letter, _ = letter_text(session, wrexham)
    assert completeness(letter) == [
        {
            "code": "past_scheduled",
            "ref": f"A{letter.overdue[0].id}",
            "line": "missed check, 1 June 2020",
            "start": "2020-06-01",
        }
    ]
