"""Progress on an area for improvement, recorded, edited and removed directly on the domain;
and its grammar."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import UserError
from bot.records import authorities, findings, grammar, history, progress
from bot.records.dates import ReviewYear
from db.models import FindingKind, Principle, Service
from db.session import session_factory, transaction

NOW = dt.datetime(2020, 5, 2, 10, 0, tzinfo=dt.UTC)
TODAY = dt.date(2020, 5, 2)  # in review year 2020-21
Y2019, Y2020 = ReviewYear(2019), ReviewYear(2020)


@pytest.fixture
def session(engine):
    with transaction(session_factory(engine)) as session:
        yield session


def finding(
    session,
    text="Assessments were slow.",
    *,
    year=Y2019,
    kind=FindingKind.IMPROVEMENT,
    principle=Principle.PEOPLE,
    service=None,
    authority="wrexham",
):
    return findings.log_finding(
        session,
        authority=authorities.resolve(session, authority),
        year=year,
        principle=principle,
        kind=kind,
        service=service,
        activity=None,
        text=text,
        actor="U0ME",
        today=TODAY,
        now=NOW,
    )


def record(session, answered, text="Assessments now take four weeks.", year=Y2020):
    return progress.record(session, finding=answered, year=year, text=text, actor="U0ME", now=NOW)


def entries(session, progress_id: int) -> list:
    return history.for_subjects(session, "progress", [progress_id]).get(str(progress_id), [])


def refusal(call) -> UserError:
    with pytest.raises(UserError) as error:
        call()
    return error.value


def test_progress_is_recorded_for_its_year_with_history(session):
    improvement = finding(session)
    answer = record(session, improvement, "  Assessments now take four weeks.  ")
    assert (answer.text, answer.review_year, answer.finding_id) == (
        "Assessments now take four weeks.",
        2020,
        improvement.id,
    )
    assert answer.authority_id == improvement.authority_id and answer.created_by == "U0ME"
    (entry,) = entries(session, answer.id)
    assert (entry.action, entry.changes) == (
        "logged",
        {"finding": f"F{improvement.id}", "year": "2020-21"},
    )
    # Two years on is an earlier year too.
    assert record(session, improvement, year=ReviewYear(2021)).review_year == 2021


def test_only_an_improvement_of_an_earlier_year_is_answered(session):
    strength = finding(session, kind=FindingKind.STRENGTH)
    assert refusal(lambda: record(session, strength)).template == "progress_on_strength"
    this_year = finding(session, year=Y2020)
    same = refusal(lambda: record(session, this_year))
    assert same.template == "progress_not_later"
    assert same.data == {
        "ref": f"F{this_year.id}",
        "finding_year": "2020-21",
        "year": "2020-21",
        "next_label": "2021-22",
    }
    later = finding(session, year=ReviewYear(2021))
    assert refusal(lambda: record(session, later)).template == "progress_not_later"
    assert progress.for_year(session, authorities.resolve(session, "wrexham"), Y2020) == []


def test_text_is_needed_and_not_overlong(session):
    improvement = finding(session)
    assert refusal(lambda: record(session, improvement, "   ")).template == (
        "missing_progress_text"
    )
    long = refusal(lambda: record(session, improvement, "x" * (findings.MAX_TEXT + 1)))
    assert (long.template, long.data["what"]) == ("too_long", "progress")


def test_edit_and_remove_keep_history_and_leave_lists(session):
    improvement = finding(session)
    answer = record(session, improvement)
    old = progress.edit(session, answer, "Four weeks, then three.", actor="U0YOU", now=NOW)
    assert old == "Assessments now take four weeks." and answer.updated_at == NOW
    wrexham = authorities.resolve(session, "wrexham")
    assert progress.for_year(session, wrexham, Y2020) == [answer]
    progress.remove(session, answer, actor="U0YOU", now=NOW)
    assert progress.for_year(session, wrexham, Y2020) == []
    assert refusal(lambda: progress.get_progress(session, answer.id)).data == {
        "ref": f"P{answer.id}"
    }
    actions = [(e.action, e.actor) for e in entries(session, answer.id)]
    assert actions == [("logged", "U0ME"), ("edited", "U0YOU"), ("removed", "U0YOU")]
    assert refusal(lambda: progress.get_progress(session, 999)).template == "unknown_id"


def test_a_years_progress_in_the_findings_order_and_last_years_improvements(session):
    # Recorded out of the letter's order: the lists and the letter put them back in it.
    partnerships = finding(session, "Partners.", principle=Principle.PARTNERSHIPS)
    both = finding(session, "Both.", service=Service.BOTH)
    adults = finding(session, "Adults.", service=Service.ADULTS)
    wellbeing = finding(session, "Well-being.", principle=Principle.WELL_BEING)
    children = finding(session, "Children.", service=Service.CHILDREN)
    finding(session, "A strength.", kind=FindingKind.STRENGTH)
    finding(session, "Cardiff's.", authority="cardiff")
    gone = finding(session, "Removed later.")
    answers = [
        record(session, partnerships, "on partnerships"),
        record(session, both, "on both"),
        record(session, adults, "on adults, first"),
        record(session, children, "on children"),
        record(session, adults, "on adults, second"),
        record(session, gone, "on a finding removed"),
    ]
    findings.remove(session, gone, actor="U0ME", now=NOW)
    wrexham = authorities.resolve(session, "wrexham")
    listed = progress.for_year(session, wrexham, Y2020)
    assert [p.text for p in listed] == [
        "on children",
        "on adults, first",
        "on adults, second",
        "on both",
        "on partnerships",
    ]
    assert progress.for_year(session, wrexham, Y2019) == []
    assert [f.text for f in progress.improvements(session, wrexham, Y2019)] == [
        "Well-being.",
        "Children.",
        "Adults.",
        "Both.",
        "Partners.",
    ]
    grouped = progress.by_finding(listed)
    assert [p.id for p in grouped[adults.id]] == [answers[2].id, answers[4].id]
    assert wellbeing.id not in grouped


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("F7 2020-21 Waits fell.", grammar.AddProgress(7, Y2020, "Waits fell.")),
        ("#f7 Waits  fell.", grammar.AddProgress(7, None, "Waits  fell.")),
        # A year is only the second word: later it is text.
        ("F7 Waits fell in 2020-21.", grammar.AddProgress(7, None, "Waits fell in 2020-21.")),
    ],
)
def test_progress_grammar(typed, expected):
    assert grammar.parse_progress(typed) == expected


@pytest.mark.parametrize(
    ("typed", "template"),
    [
        ("", "usage"),
        ("A3 Waits fell.", "bad_id"),
        ("N3 Waits fell.", "bad_id"),
        ("P3 Waits fell.", "bad_id"),
        ("wrexham F3 Waits fell.", "bad_id"),
        ("F3", "missing_progress_text"),
        ("F3 2020-21", "missing_progress_text"),
        ("F3 2019-21 Waits fell.", "bad_year"),
    ],
)
def test_progress_grammar_refusals(typed, template):
    assert refusal(lambda: grammar.parse_progress(typed)).template == template


def test_edit_and_remove_take_progress_ids():
    assert grammar.parse_edit("P4 New text.") == grammar.Edit("P", 4, "text", "New text.")
    assert refusal(lambda: grammar.parse_edit("P4")).template == "missing_progress_text"
    assert grammar.parse_remove("#p4") == ("P", 4)
