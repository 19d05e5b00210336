"""`/ciw progress` through the real HTTP path (signed slash commands in, Slack's Web API
out): progress on last year's area for improvement recorded and answered privately, each
refusal with nothing recorded, `edit P` and `remove P` with their history, `list`, and the
draft's review message flagging the improvements with no progress."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import Draft, HistoryEntry, Progress
from handlers.slack.text import visible
from tests.conftest import outbox_settled
from tests.handlers.slack.test_letter_workflow import draft_parent

CHANNEL = "G0REVIEW"
IMPROVEMENTS = [
    # F1 .. F5 (F5 removed before the tests type anything about it)
    "log-finding wrexham 2019-20 well-being improvement children Child protection visits "
    "were often made late, and records did not say why.",
    "log-finding wrexham 2019-20 people improvement adults What CMHT staff said about their "
    "workload was mixed.",
    "log-finding wrexham 2019-20 people strength adults Safeguarding work with the hospital "
    "is good.",
    "log-finding wrexham 2020-21 prevention improvement children Early help reaches too few.",
    "log-finding wrexham 2019-20 partnerships improvement both Logged by mistake.",
]


def said(call) -> str:
    """What the reply reads, without its bold marks."""
    return visible(call.get("text") or "").replace("*", "")


def recorded(runtime) -> tuple[int, int]:
    """Progress rows, and history entries about progress."""
    with runtime.transaction() as session:
        rows = session.scalar(select(func.count()).select_from(Progress))
        entries = session.scalar(
            select(func.count()).select_from(HistoryEntry).where(HistoryEntry.subject == "progress")
        )
        return rows, entries


@pytest.fixture
def improvements(workspace, clock):
    """Last year's (2019-20) findings logged during that year; then it is 2020-21."""
    for typed in IMPROVEMENTS:
        assert "Recorded" in said(workspace.command(typed))
    assert "F5" in said(workspace.command("remove F5"))
    clock.set("2020-06-01T10:00:00")
    return workspace


def test_progress_is_recorded_for_this_year_and_answered_privately(improvements, runtime):
    reply = improvements.command("progress F1 Visits are now made on time in most teams.")
    assert reply.get("response_type") == "ephemeral"
    text = said(reply)
    # The P id, the improvement it answers (id and first words), the letter it prints in.
    assert text.startswith("Recorded P1: progress in 2020-21 on F1, an area for improvement")
    assert "of 2019-20 under well-being (Child protection visits were often made late" in text
    assert "the 2020-21 letter to Wrexham County Borough Council" in text
    assert "> Visits are now made on time in most teams." in text
    # A year named: the year the progress belongs to, any after the improvement's.
    assert "Recorded P2: progress in 2021-22 on F2" in said(
        improvements.command("progress #f2 2021-22 Staff now meet their managers monthly.")
    )
    with runtime.transaction() as session:
        rows = session.scalars(select(Progress).order_by(Progress.id)).all()
        assert [(p.finding_id, p.review_year, p.created_by) for p in rows] == [
            (1, 2020, "U0INSPECT"),
            (2, 2021, "U0INSPECT"),
        ]
        assert rows[0].text == "Visits are now made on time in most teams."


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("progress", ["/ciw progress F<id> [<year>] <text>"]),
        ("progress F3 Text.", ["F3 is a strength", "area for improvement only"]),
        (
            "progress F1 2019-20 Text.",
            ["F1 is an area for improvement of 2019-20", "`/ciw progress F1 2020-21 <text>`"],
        ),
        ("progress F4 Text.", ["F4 is an area for improvement of 2020-21", "2021-22"]),
        ("progress F4 2019-20 Text.", ["F4 is an area for improvement of 2020-21"]),
        ("progress F99 Text.", ["There is no F99"]),
        ("progress F5 Text.", ["There is no F5"]),
        ("progress A3 Text.", ["`A3` is not a finding id", "`F7`"]),
        ("progress N1 Text.", ["`N1` is not a finding id"]),
        ("progress wrexham F1 Text.", ["`wrexham` is not a finding id"]),
        ("progress F1", ["Progress needs its paragraph", "/ciw progress F<id> [<year>] <text>"]),
        ("progress F1 2020-21   ", ["Progress needs its paragraph"]),
        ("progress F1 2019-21 Text.", ["`2019-21` is not a review year", "`2019-20`"]),
        (
            "progress F1 2020-21 " + "x" * 3001,
            ["The progress is 3001 characters long; the most is 3000"],
        ),
    ],
)
def test_each_refusal_says_why_and_records_nothing(improvements, runtime, typed, expected):
    before = recorded(runtime)
    reply = improvements.command(typed)
    assert reply.get("response_type") == "ephemeral"
    text = said(reply)
    for part in expected:
        assert part in text, (typed, text)
    assert "Traceback" not in text and "went wrong" not in text
    assert recorded(runtime) == before == (0, 0)


def test_the_current_year_is_the_default_and_progress_must_be_later(workspace, runtime):
    # Still 2019-20 (the clock's default): progress on this year's improvement is refused.
    workspace.command(IMPROVEMENTS[0])
    text = said(workspace.command("progress F1 Visits are on time."))
    assert "progress for 2019-20 answers an improvement of an earlier year" in text
    assert recorded(runtime) == (0, 0)


def test_edit_and_remove_progress_with_history_and_the_list(improvements, runtime):
    command = improvements.command
    command("progress F1 Visits are on time in most teams.")
    command("progress F2 Staff meet their managers monthly.")
    command("progress F1 Records now say why a visit was late.")
    reply = said(command("edit P1 Visits are on time in every team."))
    assert reply.startswith("P1 (progress in 2020-21 on F1) now reads:")
    assert "was: Visits are on time in most teams." in reply
    assert "P2 removed" in said(command("remove #p2"))

    listed = said(command("list wrexham 2020-21"))
    progress = listed.split("Progress (2)", 1)[1]
    assert "• P1 on F1 (well-being, 2019-20): Visits are on time in every team." in progress
    assert "01 Jun 2020 10:00 edited by <@U0INSPECT>" in progress  # history, as notes show it
    assert "• P3 on F1 (well-being, 2019-20): Records now say why" in progress
    assert "P2" not in progress
    last_year = progress.split("Last year's areas for improvement (2019-20)", 1)[1]
    assert "• F1 well-being: Child protection visits were often made late, and records … — " in (
        last_year
    )
    assert "progress recorded: P1, P3" in last_year
    assert "• F2 people: What CMHT staff said about their workload was mixed. — _no progress" in (
        last_year
    )
    assert "F3" not in last_year and "F5" not in last_year  # a strength; a removed one

    # A removed one is gone; its id is refused as unknown.
    assert "There is no P2" in said(command("edit P2 Again."))
    assert "There is no P2" in said(command("remove P2"))
    assert "There is no P99" in said(command("remove P99"))
    assert "Progress needs its paragraph" in said(command("edit P1"))
    assert "`P4` for progress" in said(command("edit X1 text"))
    assert "/ciw remove A<id>|F<id>|N<id>|P<id>" in said(command("remove"))
    with runtime.transaction() as session:
        actions = session.scalars(
            select(HistoryEntry.action)
            .where(HistoryEntry.subject == "progress")
            .order_by(HistoryEntry.id)
        ).all()
        assert actions == ["logged", "logged", "logged", "edited", "removed"]
        gone = session.get(Progress, 2)
        assert gone.removed_by == "U0INSPECT" and gone.text == "Staff meet their managers monthly."


def test_typed_mentions_in_progress_notify_nobody(improvements, runtime):
    typed = "progress F1 Visits &lt;!channel&gt; @here <!here> &lt;@U123&gt; <@U0ALEX|alex> are on time."
    reply = improvements.command(typed).get("text")
    listing = improvements.command("list wrexham 2020-21").get("text")
    for text in (reply, listing):
        for danger in ["<!channel>", "<!here>", "<@U123", "<@U0ALEX", "@here", "@channel"]:
            assert danger not in text, (danger, text)
    assert "<!channel>" in visible(reply) and "<@U123>" in visible(reply)  # shown, inert


def test_the_draft_prints_the_progress_and_flags_the_improvements_without(
    improvements, slack, runtime
):
    command = improvements.command
    command("progress F1 Visits are on time &lt;!channel&gt; in every team.")
    reply = command("draft-letter wrexham 2020-21", channel=CHANNEL)
    assert "Posted version 1" in said(reply)
    slack.wait_for(lambda s: len(s.uploads) >= 1)
    outbox_settled(runtime)

    # The review message names F2, with its first words, and what to type; not F1.
    parent = draft_parent(slack)
    assert "Before this letter can go out" in parent
    assert (
        "No progress recorded for 2020-21 on F2, an area for improvement of 2019-20 (What CMHT "
        "staff said about their workload was mixed.): `/ciw progress F2 2020-21 <text>`"
    ) in parent
    assert "on F1," not in parent and "on F5," not in parent
    # The letter in the thread has the section, its typed text inert.
    posted = "\n".join(
        block["text"]["text"]
        for call in slack.of("chat.postMessage")
        for block in call.get("blocks") or []
        if isinstance(block.get("text"), dict)
    )
    assert "<!channel>" not in posted
    assert "Progress on areas for improvement from 2019-20" in visible(posted)
    assert "Visits are on time <!channel> in every team." in visible(posted)
    with runtime.transaction() as session:
        version = session.scalars(select(Draft)).one().versions[0]
        assert [w["ref"] for w in version.warnings if w["code"] == "no_progress"] == ["F2"]


def test_many_improvements_without_progress_keep_the_review_message_within_slacks_limits(
    workspace, slack, runtime, clock
):
    # Ten of last year's improvements have no progress, each written with characters
    # Slack's text escapes at length (`&` is `&amp;`): the review message's summary takes
    # more than one section block, none past Slack's 3,000 characters (the fake Slack
    # refuses, and fails the test, whatever Slack would refuse).
    for number in range(10):
        workspace.command(f"log-finding wrexham 2019-20 people improvement {number}" + " &&&" * 30)
    clock.set("2021-05-01T10:00:00")
    assert "Posted version 1" in said(workspace.command("draft-letter wrexham 2020-21"))
    slack.wait_for(lambda s: len(s.uploads) >= 1)
    outbox_settled(runtime)
    parent = draft_parent(slack)
    assert parent.count("No progress recorded for 2020-21") == 8
    # Two more of those, four principles without findings, an empty plan.
    assert "… and 7 more: `/ciw list` shows the records they concern." in parent
    call = next(
        c
        for c in slack.of("chat.postMessage")
        if any(b.get("block_id") == "draft_review" for b in c.get("blocks") or [])
    )
    kinds = [b["type"] for b in call.get("blocks")]
    assert kinds[:4] == ["header", "section", "section", "actions"]
