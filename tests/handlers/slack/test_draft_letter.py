"""`/ciw draft-letter` through the real HTTP path: posting, the .docx, refusals, versions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from typing import Any

import docx
from sqlalchemy import func, select, update

from bot.demo import load_demo
from bot.records import findings
from bot.records.dates import ReviewYear
from bot.reminders import clock as clock_module
from bot.review import drafts
from db.models import (
    Activity,
    ActivityStatus,
    Authority,
    Delivery,
    Draft,
    DraftVersion,
    FindingKind,
    HistoryEntry,
    Principle,
    Service,
)
from handlers.slack.text import visible
from tests.conftest import claims_released, outbox_settled

CHANNEL = "G0REVIEW"
NOW = "2020-08-03T10:00:00"


def setup_demo(runtime, clock) -> None:
    clock.set(NOW)
    with runtime.transaction() as session:
        load_demo(session, now=runtime.now())


def all_text(call) -> str:
    """What a reader sees of a posted message: its blocks' text, decoded."""
    out = []
    for block in call.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            out.append(text["text"])
        for element in block.get("elements") or []:
            if isinstance(element.get("text"), str):
                out.append(element["text"])
    return visible("\n".join(out))


def docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


def post_draft(
    workspace,
    slack,
    text="draft-letter wrexham 2019-20",
    channel=CHANNEL,
    user="U0INSPECT",
    uploads=1,
):
    reply = workspace.command(text, channel=channel, user=user)
    slack.wait_calls("files.completeUploadExternal", uploads)
    slack.wait_for(lambda s: len(s.uploads) >= uploads)
    outbox_settled(workspace.runtime)
    return reply


def thread_of(runtime) -> str:
    with runtime.transaction() as session:
        return session.scalars(select(Draft.thread_ts)).one()


def buttons(call) -> dict[str, Any]:
    actions = next(b for b in call.get("blocks") if b["type"] == "actions")
    return {e["action_id"]: e for e in actions["elements"]}


def test_draft_letter_posts_the_letter_for_review_with_its_docx(workspace, slack, runtime, clock):
    setup_demo(runtime, clock)
    reply = post_draft(workspace, slack)
    assert reply.get("response_type") == "ephemeral"
    assert "Posted version 1" in reply.get("text")

    parent = slack.of("chat.postMessage")[0]
    assert parent.get("channel") == CHANNEL and not parent.get("thread_ts")
    assert parent.get("text") == (
        "Draft letter for Wrexham County Borough Council, 2019-20: version 1, awaiting review"
    )
    blocks = parent.get("blocks")
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert blocks[0]["text"]["text"] == "Draft letter: Wrexham County Borough Council, 2019-20"
    seen = all_text(parent)
    assert (
        "Version 1" in seen and "Status: *Awaiting review*" in seen and "approvals 0 of 1" in seen
    )
    assert "• focused activity, 22 January 2020, review of one specific case of concern" in seen
    assert (
        "Care Inspectorate Wales (CIW) Local Authority Performance Review April 2019 - March 2020"
        in seen
    )
    assert "Yours sincerely," in seen

    with runtime.transaction() as session:
        draft = session.scalars(select(Draft)).one()
        version = draft.versions[0]
        assert (draft.channel_id, draft.review_year, draft.created_by) == (
            CHANNEL,
            2019,
            "U0INSPECT",
        )
        assert draft.thread_ts and draft.thread_ts == version.message_ts
        assert version.number == 1 and version.file_id
        actions = [
            h.action
            for h in session.scalars(
                select(HistoryEntry)
                .where(HistoryEntry.subject == "draft")
                .order_by(HistoryEntry.id)
            )
        ]
        assert actions == ["started", "version", "posted"]
        version_id, thread_ts, file_id = version.id, draft.thread_ts, version.file_id
    assert {k: v["value"] for k, v in buttons(parent).items()} == {
        drafts.APPROVE: str(version_id),
        drafts.REQUEST_CHANGES: str(version_id),
        drafts.NEW_VERSION: str(version_id),
    }
    assert parent.get("channel") == CHANNEL

    # The .docx went into the thread, and is the letter.
    start = slack.of("files.getUploadURLExternal")[0]
    assert start.get("filename") == "ciw-letter-wrexham-2019-20-v1.docx"
    complete = slack.of("files.completeUploadExternal")[0]
    assert complete.get("channel_id") == CHANNEL and complete.get("thread_ts") == thread_ts
    files = complete.get("files")
    assert (json.loads(files) if isinstance(files, str) else files)[0]["id"] == file_id
    text = docx_text(slack.uploads[file_id])
    assert "Children's Services:" in text
    assert (
        "inspection of Community Mental Health Team with Healthcare Inspectorate Wales (HIW), "
        "15 and 16 October 2019" in text
    )
    # Marked as a draft with its version until approved, then the letter.
    assert text.startswith("DRAFT \u2013 version 1\nAlwyn Jones\nDirector of Social Services")


def test_year_defaults_to_the_last_review_year_that_ended(workspace, slack, runtime, clock):
    setup_demo(runtime, clock)
    reply = post_draft(workspace, slack, text="draft-letter wrexham")
    assert "(2019-20)" in reply.get("text")
    with runtime.transaction() as session:
        assert session.scalars(select(Draft.review_year)).one() == 2019


def test_public_channel_is_refused_unless_allowed(workspace, slack, runtime, clock):
    setup_demo(runtime, clock)
    reply = workspace.command("draft-letter wrexham 2019-20", channel="C0PUBLIC")
    assert reply.get("response_type") == "ephemeral"
    assert "not posted in public channels" in reply.get("text")
    assert slack.of("conversations.info")[0].get("channel") == "C0PUBLIC"
    assert slack.of("chat.postMessage") == [] and slack.uploads == {}
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 0
        assert session.scalar(select(func.count()).select_from(DraftVersion)) == 0

    runtime.settings = dataclasses.replace(runtime.settings, allow_public_drafts=True)
    post_draft(workspace, slack, channel="C0PUBLIC")
    assert slack.of("chat.postMessage")[0].get("channel") == "C0PUBLIC"


def test_channel_the_bot_cannot_see_is_refused(workspace, slack, runtime, clock):
    setup_demo(runtime, clock)
    slack.fail("conversations.info", 200, body={"ok": False, "error": "channel_not_found"})
    reply = workspace.command("draft-letter wrexham 2019-20", channel="G0HIDDEN")
    assert "can't see this conversation" in reply.get("text")
    slack.channels["G0OUT"] = {"is_member": False}
    reply = workspace.command("draft-letter wrexham 2019-20", channel="G0OUT")
    assert "not a member" in reply.get("text")
    assert slack.of("chat.postMessage") == []


def test_bad_input_records_nothing(workspace, slack, runtime, clock):
    setup_demo(runtime, clock)
    for text, expected in [
        ("draft-letter", "draft-letter <authority>"),
        ("draft-letter wrexam 2019-20", "wrexham"),
        ("draft-letter wrexham 2019-21", "2019-21"),
    ]:
        reply = workspace.command(text)
        assert expected in visible(reply.get("text")), text
    assert slack.of("chat.postMessage") == []
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 0


def test_asking_again_posts_a_new_version_in_the_thread_with_what_changed(
    workspace, slack, runtime, clock
):
    setup_demo(runtime, clock)
    post_draft(workspace, slack)
    with runtime.transaction() as session:
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        findings.log_finding(
            session,
            authority=wrexham,
            year=ReviewYear(2019),
            principle=Principle.PARTNERSHIPS,
            kind=FindingKind.IMPROVEMENT,
            service=Service.CHILDREN,
            activity=None,
            text="Joint working with health needs a plan.",
            actor="U0INSPECT",
            today=runtime.today(),
            now=runtime.now(),
        )
        meeting = session.scalars(
            select(Activity).where(Activity.title == "focused activity")
        ).one()
        meeting.details = ", review of two cases"
    reply = post_draft(workspace, slack, uploads=2)
    assert "Posted version 2" in reply.get("text")
    posts = slack.of("chat.postMessage")
    assert len(posts) == 2 and posts[1].get("thread_ts") == thread_of(runtime)
    seen = all_text(posts[1])
    assert "Version 2" in seen
    assert "+ Joint working with health needs a plan." in seen
    assert "~ - focused activity, 22 January 2020, review of one specific case of concern" in seen
    assert "→ - focused activity, 22 January 2020, review of two cases" in seen
    update = slack.wait_calls("chat.update")[-1]
    assert update.get("ts") == thread_of(runtime)
    assert "Version 2" in all_text(update)
    assert "review of two cases" in all_text(update)
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 1
        assert [
            v.number for v in session.scalars(select(DraftVersion).order_by(DraftVersion.id))
        ] == [1, 2]
        v2 = session.scalars(select(DraftVersion).where(DraftVersion.number == 2)).one()
        assert buttons(update)[drafts.APPROVE]["value"] == str(v2.id)
        assert "review of two cases" in docx_text(slack.uploads[v2.file_id])
    assert slack.of("files.getUploadURLExternal")[1].get("filename").endswith("-v2.docx")


def test_typed_text_is_escaped_everywhere_it_is_posted(workspace, slack, runtime, clock):
    setup_demo(runtime, clock)
    with runtime.transaction() as session:
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        findings.log_finding(
            session,
            authority=wrexham,
            year=ReviewYear(2019),
            principle=Principle.PEOPLE,
            kind=FindingKind.STRENGTH,
            service=None,
            activity=None,
            text="Tell <!channel> <!here> @channel @here <@U123> *all* _of_ ~it~",
            actor="U0INSPECT",
            today=runtime.today(),
            now=runtime.now(),
        )
    post_draft(workspace, slack)
    parent = slack.of("chat.postMessage")[0]
    raw = json.dumps(parent.get("blocks")) + parent.get("text")
    for dangerous in (
        "<!channel>",
        "<!here>",
        "<@U123>",
        "@channel",
        "@here",
        "*all*",
        "_of_",
        "~it~",
    ):
        assert dangerous not in raw, dangerous
    assert "Tell <!channel> <!here> @channel @here <@U123> *all* _of_ ~it~" in all_text(parent)


def test_long_letter_continues_in_the_thread_within_slack_limits(workspace, slack, runtime, clock):
    setup_demo(runtime, clock)
    with runtime.transaction() as session:
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        for i in range(300):
            session.add(
                Activity(
                    authority=wrexham,
                    service=Service.CHILDREN,
                    title=f"visit number {i} " + "with many words " * 20,
                    start_date=dt.date(2019, 6, 1),
                    end_date=dt.date(2019, 6, 1),
                    status=ActivityStatus.COMPLETED,
                    logged_by="U0INSPECT",
                )
            )
    post_draft(workspace, slack)
    posts = slack.of("chat.postMessage")
    parent, rest = posts[0], posts[1:]
    assert rest and all(p.get("thread_ts") == thread_of(runtime) for p in rest)
    for post in posts:
        assert len(post.get("blocks")) <= 50
        assert all(
            len(b["text"]["text"]) <= 3000 for b in post.get("blocks") if b["type"] == "section"
        )
    everything = "\n".join(all_text(p) for p in posts)
    for i in range(300):
        assert f"• visit number {i} with many words" in everything
    assert "it continues in the thread" in all_text(parent)
    assert "Cc." in all_text(posts[-1])


def test_version_slack_could_not_take_is_posted_whole_and_once_by_the_clock(
    workspace, slack, runtime, clock
):
    setup_demo(runtime, clock)
    slack.fail("chat.postMessage", 200, body={"ok": False, "error": "internal_error"})
    workspace.command("draft-letter wrexham 2019-20")
    slack.wait_calls("failed:chat.postMessage")
    claims_released(runtime)  # the failure recorded, its retry time set
    with runtime.transaction() as session:
        version = session.scalars(select(DraftVersion)).one()
        assert version.message_ts is None  # recorded, and its messages wait in the outbox
        waiting = session.scalars(select(Delivery).where(Delivery.sent_at.is_(None))).all()
        assert waiting and all(d.next_attempt_at is not None or d.attempts == 0 for d in waiting)
        session.execute(update(Delivery).values(next_attempt_at=None))
    clock.set("2020-08-03T10:05:00")
    clock_module.run_once(runtime)
    outbox_settled(runtime)
    posts = slack.of("chat.postMessage")
    assert posts[0].get("channel") == CHANNEL and posts[0].get("thread_ts") is None
    assert len([p for p in posts if p.get("thread_ts") is None]) == 1
    with runtime.transaction() as session:
        version = session.scalars(select(DraftVersion)).one()
        assert version.message_ts and version.file_id
    assert len(slack.of("files.completeUploadExternal")) == 1
    assert clock_module.run_once(runtime).sent == 0


def list_pages(workspace, typed: str) -> list[str]:
    """Every page of a `/ciw list …` reply, as read, following each page's pointer to the next."""
    pages = [visible(workspace.command(typed).get("text"))]
    while f"Next: `/ciw {typed} page {len(pages) + 1}`" in pages[-1].replace("_", ""):
        pages.append(visible(workspace.command(f"{typed} page {len(pages) + 1}").get("text")))
    return pages


def test_list_shows_the_years_drafts_with_version_and_status(workspace, slack, runtime, clock):
    setup_demo(runtime, clock)
    post_draft(workspace, slack)
    # The demo year's list fills several pages, each saying which of how many it is; the
    # drafts come last.
    pages = list_pages(workspace, "list wrexham 2019-20")
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}." in page.replace("_", "")
    assert "version 1 — awaiting review" in pages[-1]


def test_a_group_dm_is_refused_for_drafts(workspace, slack, runtime, clock):
    # The manifest does not subscribe to message.mpim: replies in a group DM's thread would
    # never reach the bot, so a draft there could not be reviewed.
    setup_demo(runtime, clock)
    slack.channels["C0GROUPDM"] = {"is_channel": False, "is_mpim": True, "is_private": True}
    reply = workspace.command("draft-letter wrexham 2019-20", channel="C0GROUPDM")
    assert "group direct message" in visible(reply.get("text"))
    assert slack.of("chat.postMessage") == [] and slack.uploads == {}
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 0
