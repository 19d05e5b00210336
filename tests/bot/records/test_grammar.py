"""The `/ciw` subcommands' argument grammar, parsed directly (no Slack, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.delivery.messages import mention
from bot.errors import UserError
from bot.records import grammar, ids
from bot.records.dates import ReviewYear, When
from db.models import ActivityStatus, FindingKind, NoteSection, Principle, Service

D = dt.date


def refused(parse, *args) -> UserError:
    with pytest.raises(UserError) as error:
        parse(*args)
    return error.value


# -- ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("A12", ("A", 12)),
        ("#A12", ("A", 12)),
        ("a12", ("A", 12)),
        ("#f7", ("F", 7)),
        ("F7", ("F", 7)),
    ],
)
def test_ids_with_or_without_hash_in_any_case(typed, parsed):
    assert ids.parse_id(typed) == parsed


@pytest.mark.parametrize(
    "typed", ["12", "X12", "A", "A-1", "A1.5", "AA1", "##A1", "A1234567890", "F7x"]
)
def test_malformed_ids(typed):
    error = refused(ids.parse_id, typed)
    assert error.template == "bad_id"


def test_an_id_of_the_wrong_kind_is_refused():
    assert refused(ids.parse_id, "F7", "A").data == {"value": "F7", "kinds": "A"}
    assert ids.looks_like_id("#a3", "A") and not ids.looks_like_id("F3", "A")
    assert ids.activity_ref(12) == "A12" and ids.finding_ref(7) == "F7"


# -- log-activity --------------------------------------------------------------------------


def test_log_activity_with_details():
    parsed = grammar.parse_log_activity(
        "wrexham children 2019-09-24..2019-09-25 focused activity in children's services "
        "| to review selected files and records"
    )
    assert parsed == grammar.LogActivity(
        "wrexham",
        Service.CHILDREN,
        When(D(2019, 9, 24), D(2019, 9, 25)),
        "focused activity in children's services",
        "to review selected files and records",
        [],
    )


def test_log_activity_mentions_are_inspectors_not_title():
    alex, bea = mention("U0ALEX", "alex"), mention("U0BEA", "bea")
    parsed = grammar.parse_log_activity(
        f"wrexham adults 2020-04-20T10:00 meeting {alex} with the Director {bea}"
    )
    assert parsed.inspectors == ["U0ALEX", "U0BEA"]
    assert parsed.title == "meeting with the Director"
    assert parsed.when.time == dt.time(10)


def test_log_activity_text_is_kept_as_typed():
    # The platform's adapter has turned its escapes into the characters typed.
    parsed = grammar.parse_log_activity("rct both 10/04/2019 Q&A <!channel> review")
    assert parsed.title == "Q&A <!channel> review"
    assert parsed.service is Service.BOTH


def test_a_person_left_in_typed_text_reads_as_their_name():
    parsed = grammar.parse_edit(f"F7 Discussed with {mention('U0ALEX', 'alex')} today")
    assert parsed.value == "Discussed with @alex today"


@pytest.mark.parametrize(
    ("typed", "template"),
    [
        ("", "usage"),
        ("wrexham", "missing_service"),
        ("wrexham kids 2019-09-24 x", "unknown_service"),
        ("wrexham children", "missing_when"),
        ("wrexham children focused activity", "missing_when"),
        ("wrexham children 2019-02-30 meeting", "impossible_date"),
        ("wrexham children 2019-09-25..2019-09-24 meeting", "end_before_start"),
        ("wrexham children 2019-09-24", "missing_title"),
        ("wrexham children 2019-09-24 | only details", "missing_title"),
        (f"wrexham children 2019-09-24 {mention('U1', 'a')}", "missing_title"),
        ("wrexham children 2019-09-24T26:00 meeting", "bad_time"),
    ],
)
def test_log_activity_refusals(typed, template):
    assert refused(grammar.parse_log_activity, typed).template == template


def test_too_long_command():
    error = refused(grammar.parse_log_activity, "wrexham children 2019-09-24 " + "x" * 13000)
    assert error.template == "too_long"


# -- log-finding ---------------------------------------------------------------------------


def test_log_finding_full_form():
    parsed = grammar.parse_log_finding(
        "wrexham 2019-20 prevention improvement adults A3 The CMHT inspection identified delays."
    )
    assert parsed == grammar.LogFinding(
        "wrexham",
        ReviewYear(2019),
        Principle.PREVENTION,
        FindingKind.IMPROVEMENT,
        Service.ADULTS,
        3,
        "The CMHT inspection identified delays.",
    )


def test_log_finding_short_form_and_hash_id():
    parsed = grammar.parse_log_finding("vale Well-being Strengths #a12 People are listened to.")
    assert (parsed.year, parsed.service, parsed.activity_id) == (None, None, 12)
    assert parsed.principle is Principle.WELL_BEING and parsed.kind is FindingKind.STRENGTH
    assert parsed.text == "People are listened to."


def test_log_finding_text_that_starts_like_a_service_word_keeps_it():
    parsed = grammar.parse_log_finding("npt people strength both adults and children benefit")
    assert parsed.service is Service.BOTH
    assert parsed.text == "adults and children benefit"


@pytest.mark.parametrize(
    ("typed", "template"),
    [
        ("", "usage"),
        ("wrexham", "missing_principle"),
        ("wrexham 2019-20", "missing_principle"),
        ("wrexham 2019-21 people strength x", "bad_year"),
        ("wrexham happiness strength x", "unknown_principle"),
        ("wrexham people", "missing_kind"),
        ("wrexham people weakness x", "unknown_kind"),
        ("wrexham people strength", "missing_finding_text"),
        ("wrexham people strength adults A3", "missing_finding_text"),
        ("wrexham people strength    ", "missing_finding_text"),
    ],
)
def test_log_finding_refusals(typed, template):
    assert refused(grammar.parse_log_finding, typed).template == template


# -- the others ----------------------------------------------------------------------------


def test_authority_and_year():
    assert grammar.parse_authority_and_year("wrexham 2019-20", "list") == (
        "wrexham",
        ReviewYear(2019),
    )
    assert grammar.parse_authority_and_year("wrexham", "list") == ("wrexham", None)
    assert refused(grammar.parse_authority_and_year, "", "list").template == "usage"
    assert refused(grammar.parse_authority_and_year, "a b c", "list").template == "usage"
    assert refused(grammar.parse_authority_and_year, "wrexham 2019-21", "list").template == (
        "bad_year"
    )


def test_days():
    assert grammar.parse_days("") == 30
    assert grammar.parse_days(" 14 ") == 14
    for typed in ["0", "-3", "367", "two", "1.5"]:
        assert refused(grammar.parse_days, typed).template == "bad_days"


def test_lifecycle():
    assert grammar.parse_lifecycle("A12 2020-09-14 | council's request", "reschedule") == (
        grammar.Lifecycle(12, When(D(2020, 9, 14), D(2020, 9, 14)), "council's request")
    )
    assert grammar.parse_lifecycle("#a12 | COVID-19", "postpone") == grammar.Lifecycle(
        12, None, "COVID-19"
    )
    assert grammar.parse_lifecycle("A12", "cancel") == grammar.Lifecycle(12, None, None)
    assert grammar.parse_lifecycle("a3", "complete") == grammar.Lifecycle(3, None, None)


@pytest.mark.parametrize(
    ("typed", "action", "template"),
    [
        ("", "postpone", "usage"),
        ("F12", "postpone", "bad_id"),
        ("12", "cancel", "bad_id"),
        ("A12", "reschedule", "missing_when"),
        ("A12 | reason", "reschedule", "missing_when"),
        ("A12 2020-02-30", "reschedule", "impossible_date"),
        ("A12 soon please", "postpone", "usage"),
        ("A12 | why", "complete", "usage"),
    ],
)
def test_lifecycle_refusals(typed, action, template):
    assert refused(grammar.parse_lifecycle, typed, action).template == template


def test_edit_and_remove():
    assert grammar.parse_edit("#f7 New text & more") == grammar.Edit(
        "F", 7, "text", "New text & more"
    )
    assert grammar.parse_edit("n3 The plan is under review.") == grammar.Edit(
        "N", 3, "text", "The plan is under review."
    )
    assert refused(grammar.parse_edit, "F7").template == "missing_finding_text"
    assert refused(grammar.parse_edit, "N7").template == "missing_note_text"
    assert refused(grammar.parse_edit, "B7 text").template == "bad_id"
    assert refused(grammar.parse_edit, "").template == "usage"
    assert grammar.parse_remove("a12") == ("A", 12)
    assert grammar.parse_remove("#F7") == ("F", 7)
    assert grammar.parse_remove("N2") == ("N", 2)
    assert refused(grammar.parse_remove, "").template == "usage"
    assert refused(grammar.parse_remove, "A1 F2").template == "usage"
    assert refused(grammar.parse_remove, "B1").template == "bad_id"


def test_edit_an_activity():
    assert grammar.parse_edit("A12 title focused activity") == grammar.Edit(
        "A", 12, "title", "focused activity"
    )
    assert grammar.parse_edit("A12 Details , to review files").value == ", to review files"
    assert grammar.parse_edit("A12 details -").value is None
    assert grammar.parse_edit("A12 service adults").value is Service.ADULTS
    assert grammar.parse_edit("A12 dates 2019-09-24..2019-09-25").value == When(
        D(2019, 9, 24), D(2019, 9, 25), None
    )
    assert grammar.parse_edit("A12 dates 24/09/2019T10:00").value.time == dt.time(10, 0)


@pytest.mark.parametrize(
    ("typed", "template"),
    [
        ("A12", "unknown_activity_field"),
        ("A12 status done", "unknown_activity_field"),
        ("A12 title", "missing_activity_value"),
        ("A12 dates", "missing_activity_value"),
        ("A12 dates 2019-09-24 2019-09-25", "missing_activity_value"),
        ("A12 dates 2019-02-30", "impossible_date"),
        ("A12 dates 2019-09-25..2019-09-24", "end_before_start"),
        ("A12 service everyone", "unknown_service"),
    ],
)
def test_edit_an_activity_refusals(typed, template):
    assert refused(grammar.parse_edit, typed).template == template


def test_log_activity_as_it_happened():
    parsed = grammar.parse_log_activity(
        "wrexham both 2020-03-24 annual meeting --cancelled due to COVID-19 | with the director"
    )
    assert (parsed.title, parsed.status, parsed.reason, parsed.details) == (
        "annual meeting",
        ActivityStatus.CANCELLED,
        "due to COVID-19",
        "with the director",
    )
    # Slack on a Mac turns a typed `--` into an em dash; a reason may be left out.
    parsed = grammar.parse_log_activity(
        "wrexham adults 2020-03-18 focused activity \u2014postponed"
    )
    assert (parsed.title, parsed.status, parsed.reason) == (
        "focused activity",
        ActivityStatus.POSTPONED,
        None,
    )
    plain = grammar.parse_log_activity("wrexham adults 2020-03-18 visit | notes --postponed")
    assert plain.status is None and plain.details == "notes --postponed"


@pytest.mark.parametrize(
    ("typed", "template"),
    [
        ("wrexham both 2020-03-24 meeting --delayed", "unknown_status_flag"),
        ("wrexham both 2020-03-24 meeting --postponed then --cancelled", "two_status_flags"),
        ("wrexham both 2020-03-24 --cancelled COVID-19", "missing_title"),
    ],
)
def test_log_activity_status_refusals(typed, template):
    assert refused(grammar.parse_log_activity, typed).template == template


def test_note():
    assert grammar.parse_note("wrexham 2019-20 intro We were unable to meet.") == grammar.AddNote(
        "wrexham", ReviewYear(2019), NoteSection.INTRO, "We were unable to meet."
    )
    assert grammar.parse_note("rct Well-being  A wider remark").section is NoteSection.WELL_BEING
    assert grammar.parse_note("rct plan x").year is None
    # A named link keeps its address (Slack's `<url|label>` arrives as `[label](url)`).
    assert (
        grammar.parse_note(
            "rct prevention The [report](https://www.careinspectorate.wales/r) is published."
        ).text
        == "The [report](https://www.careinspectorate.wales/r) is published."
    )


@pytest.mark.parametrize(
    ("typed", "template"),
    [
        ("", "usage"),
        ("wrexham", "missing_note_section"),
        ("wrexham 2019-20", "missing_note_section"),
        ("wrexham 2019-20 summary text", "unknown_note_section"),
        ("wrexham 2019-20 plan", "missing_note_text"),
        ("wrexham 2019-21 plan text", "bad_year"),
    ],
)
def test_note_refusals(typed, template):
    assert refused(grammar.parse_note, typed).template == template


def test_authority_settings():
    assert grammar.parse_authority("wrexham") == grammar.AuthorityChange("wrexham")
    assert grammar.parse_authority("wrexham Director Alwyn Jones") == grammar.AuthorityChange(
        "wrexham", "director", "Alwyn Jones"
    )
    assert grammar.parse_authority("wrexham address The Guildhall; Wrexham;; LL11 1AY") == (
        grammar.AuthorityChange("wrexham", "address", "The Guildhall\nWrexham\nLL11 1AY")
    )
    assert grammar.parse_authority("wrexham language CY").value == "cy"
    for typed, template in [
        ("", "usage"),
        ("wrexham mayor Someone", "unknown_authority_field"),
        ("wrexham director", "missing_authority_value"),
        ("wrexham language fr", "unknown_language"),
        ("wrexham address ;;", "bad_address"),
        ("wrexham director " + "x" * 121, "too_long"),
    ]:
        assert refused(grammar.parse_authority, typed).template == template


def test_services_principles_kinds():
    assert grammar.parse_service("Children's") is Service.CHILDREN
    assert grammar.parse_principle("wellbeing") is Principle.WELL_BEING
    assert grammar.parse_kind("Improvements") is FindingKind.IMPROVEMENT
    assert refused(grammar.parse_service, "elderly").data == {"value": "elderly"}
