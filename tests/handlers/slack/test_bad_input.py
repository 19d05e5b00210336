"""Bad input through the real HTTP path: a clear ephemeral answer, nothing written, no 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import Activity, Authority, Finding, HistoryEntry, Note
from handlers.slack.text import visible


def counts(runtime) -> tuple[int, ...]:
    with runtime.transaction() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(m))
            for m in (Activity, Finding, Note, HistoryEntry)
        )


def refused(workspace, runtime, typed: str) -> str:
    """Type a bad command; the reply as read, after checking nothing was written."""
    before = counts(runtime)
    reply = workspace.command(typed)
    assert reply.get("response_type") == "ephemeral"
    assert counts(runtime) == before, typed
    text = visible(reply.get("text"))
    assert "Traceback" not in text and "went wrong" not in text, text
    return text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("log-activity wrexam children 2019-09-24 meeting", ["`wrexam`", "`wrexham`"]),
        (
            "log-activity ca children 2019-09-24 meeting",
            ["could be", "`cardiff`", "`caerphilly`", "Type a little more"],
        ),
        ("log-activity wrexham kids 2019-09-24 meeting", ["`kids` is not a service", "`children`"]),
        (
            "log-activity wrexham children 2019-02-30 meeting",
            ["`2019-02-30` is not a day of the calendar", "YYYY-MM-DD"],
        ),
        ("log-activity wrexham children 30/02/2019 meeting", ["`30/02/2019`"]),
        (
            "log-activity wrexham children 2019-09-25..2019-09-24 meeting",
            [
                "end date 24 September 2019 is before the start 25 September 2019",
                "`2019-09-24..2019-09-25`",
            ],
        ),
        (
            "log-activity wrexham children 2019-09-24",
            ["needs a title", "/ciw log-activity wrexham adults"],
        ),
        ("log-activity wrexham children 2019-09-24    ", ["needs a title"]),
        ("log-activity wrexham children 2019-09-24 | just details", ["needs a title"]),
        ("log-activity wrexham children soon meeting", ["Say when", "YYYY-MM-DD"]),
        ("log-activity wrexham", ["Say which service", "children"]),
        ("log-activity wrexham children 2019-09-24T9am meeting", ["`9AM` is not a time"]),
        (
            "log-finding wrexham 2019-21 people strength Text.",
            ["`2019-21` is not a review year", "`2019-20`"],
        ),
        (
            "log-finding wrexham happiness strength Text.",
            ["`happiness` is not a principle", "`well-being`"],
        ),
        ("log-finding wrexham people weakness Text.", ["`weakness` is neither"]),
        ("log-finding wrexham people strength", ["needs its text"]),
        ("log-finding wrexham people strength     ", ["needs its text"]),
        ("log-finding wrexham people strength A99 Text.", ["There is no A99"]),
        ("log-finding wrexam people strength Text.", ["`wrexham`"]),
        ("list wrexham 2019-21", ["`2019-21` is not a review year"]),
        ("list", ["/ciw list <authority> [<year>]", "/ciw list wrexham 2019-20"]),
        ("list wrexham 2019-20 extra", ["/ciw list <authority>"]),
        ("upcoming soon", ["`soon` is not a number of days"]),
        ("reschedule A99 2020-09-14", ["There is no A99"]),
        ("reschedule A1", ["Say when"]),
        ("postpone 12", ["`12` is not an activity id", "`A12`"]),
        ("postpone F3", ["`F3` is not an activity id"]),
        ("cancel", ["/ciw cancel A<id> [| <reason>]"]),
        ("complete A1 | because", ["/ciw complete A<id>"]),
        ("edit A1 new text", ["`new` is not something of an activity", "/ciw edit A12 dates"]),
        ("edit B1 new text", ["`B1` is not a record id", "`N3` for a note"]),
        ("edit A1 dates soon", ["`soon`"]),
        ("edit A1 title", ["Say the new title"]),
        ("edit N99 text", ["There is no N99"]),
        ("edit N1", ["A note needs its text"]),
        ("remove N99", ["There is no N99"]),
        ("note", ["/ciw note <authority>"]),
        ("note wrexam plan text", ["`wrexham`"]),
        ("note wrexham 2019-20", ["Say where the note goes"]),
        ("note wrexham 2019-20 summary text", ["`summary` is not a part of the letter"]),
        ("note wrexham 2019-20 plan", ["A note needs its text"]),
        ("note wrexham 2019-21 plan text", ["2019-21"]),
        ("log-activity wrexham both 2020-03-24 meeting --delayed", ["`--delayed` is not a status"]),
        (
            "log-activity wrexham both 2020-03-24 meeting --postponed x --cancelled y",
            ["either `--postponed` or `--cancelled`"],
        ),
        ("log-activity wrexham both 2020-03-24 --cancelled COVID-19", ["title"]),
        ("edit F99 new text", ["There is no F99"]),
        ("edit F1", ["new text", "/ciw edit F7"]),
        ("remove X1", ["`X1` is not a record id"]),
        ("remove #A99", ["There is no A99"]),
        ("remove", ["/ciw remove A<id>|F<id>|N<id>"]),
        ("authority wrexam", ["`wrexham`"]),
        ("authority wrexham mayor Bob", ["`mayor` is not something I keep"]),
        ("authority wrexham language fr", ["`fr` is not a letter language"]),
        ("authority wrexham director", ["Give the new director"]),
        ("frobnicate wrexham", ["I don't know `frobnicate`", "/ciw help"]),
    ],
)
def test_each_bad_input_is_answered_with_the_right_form(workspace, runtime, typed, expected):
    text = refused(workspace, runtime, typed)
    for part in expected:
        assert part in text, (typed, text)


def test_unknown_ids_of_every_kind(workspace, runtime):
    workspace.command("log-activity wrexham adults 2019-04-10 meeting")
    for typed in ["postpone A2", "cancel #a2", "complete A2", "remove F1"]:
        assert "There is no" in refused(workspace, runtime, typed)


def test_very_long_text_is_refused_with_the_limit(workspace, runtime):
    long = "x" * 10_000
    text = refused(workspace, runtime, f"log-activity wrexham adults 2019-04-10 {long}")
    assert "The title is 10000 characters long; the most is 500" in text
    text = refused(workspace, runtime, f"log-finding wrexham people strength {long}")
    assert "The finding is 10000 characters long; the most is 3000" in text
    workspace.command("log-finding wrexham people strength Short.")
    assert "10000 characters" in refused(workspace, runtime, f"edit F1 {long}")
    # A very long unknown word is not echoed back in full.
    text = refused(workspace, runtime, f"log-activity {long} adults 2019-04-10 meeting")
    assert len(text) < 400


def test_changes_to_a_closed_activity_are_refused(workspace, runtime):
    workspace.command("log-activity wrexham adults 2019-04-10 meeting")
    assert "A1 is completed, so it cannot be postponed" in refused(
        workspace, runtime, "postpone A1"
    )
    workspace.command("log-activity wrexham adults 2020-04-20 meeting")
    assert "has passed" in refused(workspace, runtime, "reschedule A2 2020-03-01")


def test_a_finding_linked_to_another_authoritys_activity(workspace, runtime):
    workspace.command("log-activity cardiff adults 2019-04-10 meeting")
    text = refused(workspace, runtime, "log-finding wrexham people strength A1 Text.")
    assert "A1 belongs to `cardiff`" in text


def test_authority_settings_refused_leave_the_authority_unchanged(workspace, runtime):
    refused(workspace, runtime, "authority wrexham address ;;")
    with runtime.transaction() as session:
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        assert wrexham.address_lines == ["The Guildhall", "Wrexham", "LL11 1AY"]


@pytest.mark.parametrize(
    "typed",
    [
        "log-activity wrexham adults 2020-04-20 hello &lt;!channel&gt; &lt;!here&gt; "
        "&lt;@U123&gt; @here <!channel> <!here> team",
        "log-finding wrexham people strength Alert &lt;!channel&gt; @here &lt;@U123&gt; "
        "<!everyone> <@U0ALEX|alex> done",
    ],
)
def test_user_text_is_escaped_wherever_it_is_repeated(workspace, runtime, typed):
    raw = workspace.command(typed).get("text")
    for listing in [
        raw,
        workspace.command("list wrexham 2020-21" if "2020-04" in typed else "list wrexham").get(
            "text"
        ),
    ]:
        for danger in [
            "<!channel>",
            "<!here>",
            "<!everyone>",
            "<@U123",
            "<@U0ALEX",
            "@here",
            "@channel",
        ]:
            assert danger not in listing, (danger, listing)
    text = visible(raw)
    assert "<!channel>" in text and "<@U123>" in text  # shown as typed, inert


def test_escaped_text_survives_errors_too(workspace, runtime):
    reply = workspace.command("log-activity &lt;!channel&gt; adults 2019-04-10 x")
    assert "<!channel>" not in reply.get("text")
    assert "<!channel>" in visible(reply.get("text"))
