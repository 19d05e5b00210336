"""A long run of everything the bot does, every call recorded and checked against Slack's limits.

Hundreds of records; every subcommand; both forms; App Home; a large draft, its review and
thread comments; a clock run and a reminder's buttons. Each Web API call and response_url
post must pass `handlers.slack.limits.check`, and every message the bot writes outside the
letter's own posts must stay within the ~4,000 characters Slack shows without "Show more".
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from bot.reminders import clock as ticker
from db.models import (
    Activity,
    ActivityInspector,
    ActivityStatus,
    Authority,
    DraftVersion,
    Finding,
    FindingKind,
    Principle,
    Service,
)
from handlers.slack import limits as slack_limits
from handlers.slack.text import visible
from tests.bot.reminders.test_planning import office
from tests.handlers.slack.test_draft_letter import CHANNEL, post_draft, setup_demo
from tests.handlers.slack.test_draft_review import click, submit_reason, thread_event
from tests.handlers.slack.test_forms import ACTIVITY, FINDING, submit
from tests.handlers.slack.test_reminder_buttons import click as click_reminder

TEAM = "G0TEAM"  # where inspectors type; drafts go to CHANNEL
SHOWN_WHOLE = 4000  # Slack folds longer messages behind "Show more"
TRICKY = "Q&A <b> https://example.org/a_b_c?x=1&y=2 *not bold* @here "


def message_text(params: dict) -> str:
    """The text a message shows: its blocks' texts, else its text (then only a fallback)."""
    if not params.get("blocks"):
        return params.get("text") or ""
    parts = []
    for block in params.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        for element in block.get("elements") or []:
            if isinstance(element.get("text"), str):
                parts.append(element["text"])
    return "\n".join(parts)


def add_records(runtime) -> None:
    """Hundreds of records in two review years, with long and awkward text."""
    with runtime.transaction() as session:
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        for i in range(120):
            session.add(
                Activity(
                    authority=wrexham,
                    service=Service.ADULTS,
                    title=f"past visit {i} " + TRICKY * 3,
                    start_date=dt.date(2019, 5, 1) + dt.timedelta(days=i),
                    end_date=dt.date(2019, 5, 1) + dt.timedelta(days=i),
                    status=ActivityStatus.COMPLETED,
                    channel_id=TEAM,
                    logged_by="U0INSPECT",
                )
            )
        for i in range(200):
            activity = Activity(
                authority=wrexham,
                service=Service.CHILDREN,
                title=f"planned visit {i} " + TRICKY,
                details="to review files " * 5,
                start_date=dt.date(2020, 9, 1) + dt.timedelta(days=i),
                end_date=dt.date(2020, 9, 1) + dt.timedelta(days=i),
                status=ActivityStatus.SCHEDULED,
                channel_id=TEAM,
                logged_by="U0INSPECT",
            )
            activity.inspectors = [ActivityInspector(user_id="U0INSPECT")]
            session.add(activity)
        for i in range(150):
            session.add(
                Finding(
                    authority=wrexham,
                    review_year=2019,
                    principle=Principle.PREVENTION,
                    kind=FindingKind.IMPROVEMENT,
                    service=Service.ADULTS,
                    text=f"finding {i}: " + TRICKY * (40 if i % 10 == 0 else 2),
                    created_by="U0INSPECT",
                )
            )


def pages(workspace, command: str) -> list[str]:
    """Every page of a listing, following each page's pointer to the next."""
    texts = [visible(workspace.command(command, channel=TEAM).get("text"))]
    while match := re.search(r"Next: `/ciw (.+?)`", texts[-1]):
        texts.append(visible(workspace.command(match.group(1), channel=TEAM).get("text")))
        assert len(texts) < 200
    return texts


def test_a_long_run_sends_slack_only_what_slack_takes(workspace, slack, runtime, clock):
    setup_demo(runtime, clock)  # 2020-08-03, the demo's Wrexham 2019-20
    add_records(runtime)
    long_reason = "because " + TRICKY * 200

    # Every subcommand, typed.
    for typed in [
        "help",
        "nonsense",
        "log-activity wrexham children 2020-08-24T10:00 meeting with the director "
        + TRICKY * 5
        + " <@U0OTHER>",
        "log-activity wrexham adults 2020-08-25 engagement with providers",
        "log-finding wrexham 2019-20 prevention strength adults " + TRICKY * 60,
        "edit F1 " + TRICKY * 70,
        "upcoming",
        "complete A1",
        "remove F2",
        "authority wrexham",
        "authority wrexham director Alwyn Jones & co <b>",
        "role",
        "list wrexham 2019-20 page 999",
        "list wrexham 2019-20 page x",
        "list A1",
    ]:
        workspace.command(typed, channel=TEAM)
    # Moves of activities with people to tell, one with a very long reason.
    moved = []
    for n in range(3):
        reply = workspace.command(
            f"log-activity wrexham adults 2020-09-1{n} visit to move {n} <@U0OTHER>", channel=TEAM
        )
        moved.append(re.search(r"Recorded \*(A\d+)\*", reply.get("text")).group(1))
    workspace.command(f"reschedule {moved[0]} 2020-09-21 | " + long_reason, channel=TEAM)
    workspace.command(f"postpone {moved[1]} | " + long_reason, channel=TEAM)
    workspace.command(f"cancel {moved[2]} | no longer needed", channel=TEAM)
    announced = slack.wait_for(
        lambda s: [c for c in s.of("chat.postMessage") if "rescheduled" in (c.get("text") or "")]
    )
    assert "Shortened here" in visible(announced[0].get("text"))

    # Long listings come whole, a page at a time, each page with its place and total.
    listing = pages(workspace, "list wrexham 2019-20")
    assert len(listing) > 5
    assert all(f"Page {n} of {len(listing)}." in t for n, t in enumerate(listing, 1))
    joined = "\n".join(listing)
    assert "*Activities* (" in listing[0] or "Activities (" in listing[0]
    for n in range(120):
        assert f"past visit {n} " in joined
    upcoming = pages(workspace, "upcoming 366")
    assert len(upcoming) > 3
    assert sum(t.count("planned visit") for t in upcoming) == 200
    # One activity a line, and an address stays one link.
    assert sum(len(re.findall(r"^• \*A\d+\* \[scheduled\]", t, re.M)) for t in upcoming) >= 200
    raw = workspace.command("upcoming 366", channel=TEAM).get("text")
    assert "<https://example.org/a_b_c?x=1&amp;y=2>" in raw

    # Both forms, opened and submitted.
    workspace.command("log-activity", channel=TEAM, wait=False)
    workspace.command("log-finding", channel=TEAM, wait=False)
    slack.wait_calls("views.open", 2)
    submit(workspace, "log_activity_form", channel=TEAM, **ACTIVITY)
    submit(workspace, "log_finding_form", channel=TEAM, **dict(FINDING, text="x" * 3000))

    # A large draft, its review and comments in its thread.
    post_draft(workspace, slack)
    with runtime.transaction() as session:
        version_id = session.scalars(select(DraftVersion.id)).one()
    click(workspace, "draft_request_changes", version_id)
    form = slack.wait_calls("views.open", 3)[-1].get("view")
    submit_reason(workspace, form["private_metadata"], "Please " + TRICKY * 50)
    click(workspace, "draft_approve", version_id)
    for n, subtype in enumerate([None, "thread_broadcast", "file_share"]):
        extra = {"subtype": subtype} if subtype else {}
        event = thread_event(runtime, f"1596450009.00000{n}", text=TRICKY * 30, **extra)
        workspace.event(event)
    slack.wait_calls("reactions.add", 3)

    # A draft asked for in a DM with the bot: shown as such, never as a channel link.
    post_draft(workspace, slack, text="draft-letter rct 2019-20", channel="D0INSPECT", uploads=3)
    rct = visible(workspace.command("list rct 2019-20", channel=TEAM).get("text"))
    assert "version 1 — awaiting review (in a direct message with the bot)" in rct

    # App Home of someone with 200 activities ahead.
    workspace.event({"type": "app_home_opened", "user": "U0INSPECT", "tab": "home"})
    home = slack.wait_calls("views.publish")[0].get("view")
    home_text = visible("\n".join(b["text"]["text"] for b in home["blocks"]))
    assert re.search(r"The first 20 of your 2\d\d activities", home_text)
    assert "planned visit 0 " in home_text
    assert len(re.findall(r"^• \*A\d+\*", home_text, re.M)) == 20
    assert "in a direct message with the bot" in home_text

    # The clock's run: reminders of the activities logged above, then their buttons.
    assert ticker.run_once(runtime, office("2020-08-18T09:00")).sent >= 3
    reminder = next(c for c in slack.of("chat.postMessage") if "Reminder" in (c.get("text") or ""))
    answer = click_reminder(workspace, reminder, "reminder_list")
    assert "Page 1 of" in visible(answer.get("text"))
    click_reminder(workspace, reminder, "reminder_snooze")

    # Roles last: from the first grant on, roles are enforced.
    granted = workspace.command("role <@U0INSPECT|me> admin", channel=TEAM)
    assert "admin" in visible(granted.get("text"))
    workspace.command("role", channel=TEAM)
    help_text = visible(workspace.command("help", channel=TEAM).get("text"))
    assert "list <authority> [<year>] [page <n>]" in help_text
    assert "upcoming [<days>] [page <n>]" in help_text

    # Every call checked against Slack's rules, and every message short enough to read.
    calls = [c for c in slack.calls if ":" not in c.method]
    assert len(calls) > 100
    methods = {c.method for c in calls}
    assert {
        "response_url",
        "chat.postMessage",
        "chat.update",
        "views.open",
        "views.publish",
        "reactions.add",
        "files.completeUploadExternal",
        "users.info",
        "conversations.info",
    } <= methods
    for call in calls:
        assert slack_limits.check(call.method, call.params) == [], call
    for call in calls:
        if call.method not in {"response_url", "chat.postMessage", "chat.postEphemeral"}:
            continue
        if call.get("channel") in {CHANNEL, "D0INSPECT"}:
            continue  # the letter itself, in its parts, where drafts were asked for
        for text in (visible(message_text(call.params)), visible(call.get("text") or "")):
            assert len(text) <= SHOWN_WHOLE, (call.method, len(text), text[:200])
    assert not slack.refusals


def test_the_next_page_button_answers_the_next_page(workspace, slack, runtime, clock):
    setup_demo(runtime, clock)
    add_records(runtime)
    first = workspace.command("list wrexham 2019-20", channel=TEAM)
    actions = first.get("blocks")[-1]
    assert actions["type"] == "actions"
    (button,) = actions["elements"]
    assert button["text"]["text"].startswith("Next page (2 of ")
    before = len(slack.responses())
    answer = workspace.interact(
        {
            "type": "block_actions",
            "user": {"id": "U0INSPECT", "username": "u0inspect", "team_id": "T0CIW"},
            "channel": {"id": TEAM},
            "container": {"type": "message", "is_ephemeral": True, "channel_id": TEAM},
            "trigger_id": "7.next",
            "actions": [dict(button, block_id=actions.get("block_id", "page"))],
        }
    )
    assert answer.status == 200
    second = slack.wait_for(lambda s: len(s.responses()) > before and s.responses()[-1])
    text = visible(second.get("text"))
    assert "Page 2 of " in text and "Page 1 of " not in text
    assert "Next: `/ciw list wrexham 2019-20 page 3`" in text.replace("_", "")
    # The last page has no button.
    total = int(re.search(r"Page 2 of (\d+)", text).group(1))
    last = workspace.command(f"list wrexham 2019-20 page {total}", channel=TEAM)
    assert not last.get("blocks") and f"Page {total} of {total}." in visible(last.get("text"))
