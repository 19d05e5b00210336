"""Every `/ciw` subcommand through the real HTTP path: signed command in, reply out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import Activity, ActivityStatus, Authority, Finding, HistoryEntry, Language
from handlers.slack.text import visible
from tests.conftest import burst

LINE = (
    "focused activity in children's services, 24 and 25 September 2019 to review selected "
    "files and records"
)
FOCUSED = (
    "log-activity wrexham children 2019-09-24..2019-09-25 focused activity in children's "
    "services | to review selected files and records"
)


def text_of(reply) -> str:
    """What the person reads."""
    assert reply.get("response_type") == "ephemeral"
    return visible(reply.get("text"))


def count(runtime, model) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_help_lists_every_subcommand_with_an_example(workspace):
    for typed in ["help", ""]:
        text = text_of(workspace.command(typed))
        for name in [
            "log-activity",
            "log-finding",
            "list",
            "upcoming",
            "reschedule",
            "postpone",
            "cancel",
            "complete",
            "edit",
            "remove",
            "authority",
        ]:
            assert f"`{name}" in text or f"· `{name}" in text, name
        assert text.count("Example:") >= 10
        # Slack collapses a message past ~4,000 characters: the overview stays under it.
        assert len(text) <= 4000


def test_help_of_one_subcommand_is_whole_and_an_unknown_one_is_named(workspace):
    whole = text_of(workspace.command("help log-activity"))
    assert "--postponed" in whole and "`THH:MM`" in whole and whole.count("Example:") == 2
    assert "log-finding" not in whole
    # Any of a module's names finds it.
    assert "`postpone A<id> [| <reason>]`" in text_of(workspace.command("help postpone"))
    unknown = text_of(workspace.command("help frobnicate"))
    assert "There is no subcommand `frobnicate`" in unknown and "`log-finding" in unknown


def test_log_activity_replies_with_id_and_letter_line(workspace, runtime):
    text = text_of(workspace.command(FOCUSED))
    assert "A1" in text and "completed" in text
    assert LINE in text
    with runtime.transaction() as session:
        activity = session.scalars(select(Activity)).one()
        assert (activity.status, activity.channel_id, activity.logged_by) == (
            ActivityStatus.COMPLETED,
            "G0REVIEW",
            "U0INSPECT",
        )


def test_every_letter_date_form(workspace):
    for when, written in [
        ("2019-04-10", "10 April 2019"),
        ("03/03/2020..05/03/2020", "3 to 5 March 2020"),
        ("2019-09-30..2019-10-01", "30 September to 1 October 2019"),
        ("2019-12-30..2020-01-02", "30 December 2019 to 2 January 2020"),
    ]:
        text = text_of(workspace.command(f"log-activity wrexham adults {when} meeting"))
        assert f"meeting, {written}" in text


def test_future_activity_is_scheduled_with_mentioned_inspectors(workspace, runtime):
    text = text_of(
        workspace.command(
            "log-activity rct both 2020-04-20T10:00 performance review meeting with "
            "<@U0ALEX|alex> and <@U0BEA|bea>"
        )
    )
    assert "scheduled" in text
    assert "performance review meeting with and, 20 April 2020" in text
    assert "<@U0ALEX>" in workspace.slack.responses()[-1].get("text")
    with runtime.transaction() as session:
        activity = session.scalars(select(Activity)).one()
        assert activity.status is ActivityStatus.SCHEDULED
        assert activity.authority.slug == "rhondda-cynon-taf"
        assert "<@" not in activity.title and "alex" not in activity.title
        assert sorted(activity.inspector_ids) == ["U0ALEX", "U0BEA", "U0INSPECT"]
        assert activity.start_time.hour == 10


def test_log_finding_replies_with_id(workspace, runtime):
    workspace.command("log-activity wrexham adults 2019-10-15..2019-10-16 inspection of CMHT")
    text = text_of(
        workspace.command(
            "log-finding wrexham 2019-20 prevention improvement adults #a1 The CMHT inspection "
            "identified delays in responding to people."
        )
    )
    assert "F1" in text and "improvement" in text and "prevention" in text and "2019-20" in text
    assert "from A1" in text
    assert "The CMHT inspection identified delays in responding to people." in text
    # Year defaults to the activity's, else the current review year (2019-20 on 2 March 2020).
    text = text_of(workspace.command("log-finding vale people strength Staff are stable."))
    assert "F2" in text and "Vale of Glamorgan Council, 2019-20" in text
    with runtime.transaction() as session:
        finding = session.get(Finding, 1)
        assert (finding.review_year, finding.activity_id, finding.service.value) == (
            2019,
            1,
            "adults",
        )


def test_list_shows_the_year_with_ids_status_and_history(workspace):
    workspace.command(FOCUSED)
    workspace.command("log-activity wrexham adults 2020-04-20T10:00 annual performance review")
    workspace.command("log-activity wrexham adults 2020-03-24 conference", user="U0BEA")
    workspace.command("postpone A3 | COVID-19 restrictions", user="U0BEA")
    workspace.command("reschedule A3 2020-03-30 | new date agreed")
    workspace.command("log-finding wrexham 2019-20 people strength Staff are stable.")
    workspace.command("edit F1 Staff are stable and committed.")
    workspace.command("log-activity cardiff adults 2019-05-01 elsewhere")
    reply = workspace.command("list wrexham 2019-20")
    text = text_of(reply)
    assert "Wrexham County Borough Council — review year 2019-20" in text
    assert f"A1 [completed] children: {LINE}" in text.replace("*", "")
    assert "A3 [scheduled] adults: conference, 30 March 2020" in text.replace("*", "")
    assert "postponed by <@U0BEA>: COVID-19 restrictions" in text
    assert "rescheduled (Tue 24 Mar 2020 → Mon 30 Mar 2020)" in text
    assert "new date agreed" in text
    assert "02 Mar 2020 10:00" in text  # office time
    assert "A2" not in text  # 2020-21, another year
    assert "elsewhere" not in text
    assert "F1* people · strength: Staff are stable and committed." in text
    assert "edited by" in text
    # The year defaults to the current review year.
    assert "review year 2019-20" in text_of(workspace.command("list WREXHAM"))
    assert "A2" in text_of(workspace.command("list wrexham 2020-21"))


def test_upcoming_defaults_to_30_days(workspace):
    workspace.command("log-activity wrexham adults 2020-03-20 soon")
    workspace.command("log-activity powys children 2020-04-01T09:30 on the 30th day")
    workspace.command("log-activity cardiff both 2020-04-02 too late")
    workspace.command("log-activity cardiff both 2020-01-02 past")
    text = text_of(workspace.command("upcoming"))
    assert "next 30 days" in text
    assert "soon" in text and "on the 30th day" in text and "Wed 1 Apr 2020 09:30" in text
    assert "too late" not in text and "past" not in text
    assert text.index("soon") < text.index("on the 30th day")
    assert "too late" in text_of(workspace.command("upcoming 31"))
    assert "Nothing is scheduled in the next 7 days." in text_of(workspace.command("upcoming 7"))


def test_lifecycle_of_an_activity(workspace, runtime):
    workspace.command("log-activity wrexham adults 2020-04-20T10:00 annual performance review")
    text = text_of(workspace.command("postpone A1 | COVID-19 restrictions"))
    assert "A1" in text and "postponed: COVID-19 restrictions" in text
    text = text_of(workspace.command("reschedule #a1 2020-09-14..2020-09-15 | new date"))
    assert "rescheduled from Mon 20 Apr 2020 10:00 to Mon 14 Sep 2020" in text
    assert "annual performance review, 14 and 15 September 2020" in text
    text = text_of(workspace.command("complete a1"))
    assert "A1" in text and "completed" in text
    assert "cannot be cancelled" in text_of(workspace.command("cancel A1 | too late"))
    workspace.command("log-activity wrexham adults 2020-05-20 another")
    assert "cancelled: no longer needed" in text_of(
        workspace.command("cancel A2 | no longer needed")
    )
    with runtime.transaction() as session:
        actions = session.scalars(
            select(HistoryEntry.action).where(
                HistoryEntry.subject == "activity", HistoryEntry.subject_id == "1"
            )
        ).all()
        assert actions == ["logged", "postponed", "rescheduled", "completed"]
        assert session.get(Activity, 2).status is ActivityStatus.CANCELLED


def test_edit_and_remove_keep_history(workspace, runtime):
    workspace.command("log-finding wrexham people strength Old text.")
    text = text_of(workspace.command("edit #f1 New text."))
    assert "F1" in text and "New text." in text and "was: Old text." in text
    workspace.command(FOCUSED)
    assert "A1" in text_of(workspace.command("list wrexham 2019-20"))
    text = text_of(workspace.command("remove A1"))
    assert "A1" in text and "removed" in text
    assert "F1" in text_of(workspace.command("remove F1"))
    text = text_of(workspace.command("list wrexham 2019-20"))
    assert "A1" not in text and "F1" not in text and text.count("None recorded") == 3
    assert "There is no A1" in text_of(workspace.command("complete A1"))
    assert "There is no F1" in text_of(workspace.command("edit F1 again"))
    with runtime.transaction() as session:
        assert session.get(Activity, 1).removed_by == "U0INSPECT"
        assert session.get(Finding, 1).text == "New text."
        assert (
            session.scalar(
                select(func.count())
                .select_from(HistoryEntry)
                .where(HistoryEntry.action == "removed")
            )
            == 2
        )


def test_authority_shows_and_sets_with_history(workspace, runtime):
    text = text_of(workspace.command("authority wrecsam"))
    assert "Wrexham County Borough Council" in text and "Cyngor Bwrdeistref Sirol Wrecsam" in text
    text = text_of(workspace.command("authority wrexham director Ian Bancroft"))
    assert "Updated the director" in text and "Director: Ian Bancroft" in text
    text = text_of(
        workspace.command(
            "authority wrexham address Wrexham County Borough Council; The Guildhall; LL11 1AY"
        )
    )
    assert "Address: Wrexham County Borough Council, The Guildhall, LL11 1AY" in text
    text = text_of(workspace.command("authority wrexham language both"))
    assert "Letter language: Welsh and English" in text
    text = text_of(workspace.command("authority wrexham"))
    assert "set director by <@U0INSPECT>" in text
    assert "Alwyn Jones → Ian Bancroft" in text
    assert "en → both" in text
    with runtime.transaction() as session:
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        assert wrexham.director == "Ian Bancroft"
        assert wrexham.address_lines == [
            "Wrexham County Borough Council",
            "The Guildhall",
            "LL11 1AY",
        ]
        assert wrexham.language is Language.BOTH
    assert count(runtime, HistoryEntry) == 3


def test_welsh_text_is_recorded_and_shown_intact(workspace, runtime):
    welsh = "Cyfarfod â'r Cyfarwyddwr — gwasanaethau plant"
    assert f"{welsh}, 10 April 2019" in text_of(
        workspace.command(f"log-activity wrecsam children 2019-04-10 {welsh}")
    )
    assert welsh in text_of(workspace.command(f"log-finding ynys-mon people strength {welsh}"))
    assert welsh in text_of(workspace.command("list wrexham 2019-20"))
    with runtime.transaction() as session:
        assert session.scalars(select(Activity.title)).one() == welsh
        assert session.scalars(select(Finding.text)).one() == welsh


def test_ampersands_and_brackets_come_back_as_typed(workspace, runtime):
    text = text_of(
        workspace.command("log-activity wrexham adults 2019-04-10 Q&amp;A with HIW &lt;joint&gt;")
    )
    assert "Q&A with HIW <joint>, 10 April 2019" in text
    with runtime.transaction() as session:
        assert session.scalars(select(Activity.title)).one() == "Q&A with HIW <joint>"


def test_subcommand_name_ends_at_any_white_space(workspace):
    reply = workspace.command("list\twrexham 2019-20")
    assert "Wrexham County Borough Council" in reply.get("text")
    reply = workspace.command("upcoming\n7")
    assert "7 days" in reply.get("text")


@pytest.mark.pauses
def test_the_reply_waits_while_requests_keep_coming(workspace, runtime, slack):
    # Acknowledgements first (`bot.answering`): a command's work and reply wait for a
    # pause in the requests coming to the process; its ack does not.
    with burst(runtime.answering):  # other requests, coming without a pause
        answer = workspace.command(FOCUSED, wait=False)
        assert answer.status == 200
        with pytest.raises(AssertionError):
            slack.wait_for(lambda s: s.responses(), timeout=0.5)
        assert count(runtime, Activity) == 0
    reply = slack.wait_for(lambda s: s.responses())[0]
    assert "A1" in text_of(reply)
    assert count(runtime, Activity) == 1
