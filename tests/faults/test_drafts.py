"""Draft letters under faults: Slack failing between parts, a rate-limited channel, the
database lost while a draft is recorded, fifty clicks on Approve."""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import func, select, update

from bot.reminders import clock as clock_module
from bot.review import draft_outbox
from db.models import (
    Activity,
    ActivityStatus,
    Authority,
    Delivery,
    Draft,
    DraftVersion,
    HistoryEntry,
    Review,
    Service,
)
from handlers.slack import draft_posts
from tests.conftest import TIME, claims_released, outbox_settled
from tests.faults.conftest import tally
from tests.handlers.slack.test_draft_letter import (
    CHANNEL,
    all_text,
    post_draft,
    setup_demo,
    thread_of,
)
from tests.handlers.slack.test_draft_review import REVIEWER, click, current_version


def long_letter(runtime, activities: int = 700) -> None:
    """Enough records for a letter of many messages."""
    with runtime.transaction() as session:
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        for i in range(activities):
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


def parts_of(runtime, number: int = 1) -> int:
    with runtime.transaction() as session:
        return session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.kind == draft_posts.PART, Delivery.key.like(f"%:v{number}:part%"))
        )


def letter_posts(slack) -> list:
    return [c for c in slack.of("chat.postMessage") if "ciw_outbox" in str(c.get("metadata"))]


def release_retries(runtime) -> None:
    with runtime.transaction() as session:
        session.execute(update(Delivery).values(next_attempt_at=None))


def check_whole_in_order_once(runtime, slack, parts: int) -> None:
    keys = [c.get("metadata")["event_payload"]["key"] for c in letter_posts(slack)]
    version_keys = [k for k in keys if ":part" in k]
    duplicates = len(version_keys) - len(set(version_keys))
    lost = parts - len(set(version_keys))
    tally(duplicates=duplicates, lost=lost)
    assert duplicates == 0 and lost == 0
    numbers = [int(k.rsplit("part", 1)[1]) for k in version_keys]
    assert numbers == sorted(numbers)  # in order
    thread = thread_of(runtime)
    rest = [
        c for c in letter_posts(slack) if ":part1" not in c.get("metadata")["event_payload"]["key"]
    ]
    assert all(c.get("thread_ts") == thread for c in rest)


def test_a_slack_failure_between_parts_leaves_the_letter_whole_and_once(
    workspace, slack, runtime, clock
):
    setup_demo(runtime, clock)
    long_letter(runtime)
    # The first part goes; the second fails with a 503 (did Slack take it? unknown).
    slack.fail_after("chat.postMessage", 1, 503)
    body, headers = workspace.requests.command("draft-letter wrexham 2019-20", channel=CHANNEL)
    assert workspace.post(body, headers).status == 200
    slack.wait_calls("failed:chat.postMessage")
    claims_released(runtime)  # the failure recorded, its retry time set
    parts = parts_of(runtime)
    assert parts >= 3
    release_retries(runtime)
    clock_module.run_once(runtime)
    outbox_settled(runtime)
    check_whole_in_order_once(runtime, slack, parts)
    assert len(slack.of("files.completeUploadExternal")) == 1
    # A second version after another failure: its parts once each, in the same thread.
    slack.clear()
    slack.fail("chat.postMessage", 200, times=1, body={"ok": False, "error": "internal_error"})
    workspace.command("draft-letter wrexham 2019-20", channel=CHANNEL)
    slack.wait_calls("failed:chat.postMessage")
    claims_released(runtime)
    release_retries(runtime)
    clock_module.run_once(runtime)
    outbox_settled(runtime)
    keys = [c.get("metadata")["event_payload"]["key"] for c in letter_posts(slack)]
    assert len(keys) == len(set(keys)) == parts_of(runtime, 2)
    assert all(c.get("thread_ts") == thread_of(runtime) for c in letter_posts(slack))


def test_a_long_draft_in_a_rate_limited_channel_arrives_whole_in_order_once(
    workspace, slack, runtime, clock
):
    setup_demo(runtime, clock)
    long_letter(runtime)
    slack.rate_limit(per_second=1.0, burst=3)  # Slack's own pace for one channel
    started = TIME()  # the time the sender's pacer and the fake's limit run on
    post_draft(workspace, slack)
    parts = parts_of(runtime)
    check_whole_in_order_once(runtime, slack, parts)
    # Paced, not refused: the sender kept to about one post a second.
    assert len(slack.of("failed:chat.postMessage")) <= 1
    assert TIME() - started >= parts - 3 - 1


def test_the_database_lost_while_a_draft_is_recorded_leaves_nothing_in_slack(
    workspace, slack, runtime, clock, database, monkeypatch
):
    setup_demo(runtime, clock)
    original = draft_outbox.enqueue_version

    def connection_lost(*args, **kwargs):
        original(*args, **kwargs)
        database.down()  # the commit that follows fails

    monkeypatch.setattr(draft_outbox, "enqueue_version", connection_lost)
    reply = workspace.command("draft-letter wrexham 2019-20")
    database.up()
    assert "not answering" in reply.get("text")
    time.sleep(0.3)
    assert slack.of("chat.postMessage") == []  # nothing in the channel without its record
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 0
    monkeypatch.setattr(draft_outbox, "enqueue_version", original)
    post_draft(workspace, slack)  # tried again: one draft, posted once
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 1
    parents = [c for c in slack.of("chat.postMessage") if c.get("thread_ts") is None]
    tally(duplicates=len(parents) - 1, lost=1 - len(parents))
    assert len(parents) == 1


def test_fifty_clicks_on_approve_record_and_show_one_approval(workspace, slack, runtime, clock):
    setup_demo(runtime, clock)
    post_draft(workspace, slack)
    version = current_version(runtime)
    slack.clear()
    barrier = threading.Barrier(10)

    def clicks() -> None:
        barrier.wait()
        for _ in range(5):
            click(workspace, "draft_approve", version, user=REVIEWER)

    threads = [threading.Thread(target=clicks) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slack.wait_calls("files.completeUploadExternal", 1)
    outbox_settled(runtime)
    time.sleep(0.5)
    with runtime.transaction() as session:
        approvals = session.scalar(select(func.count()).select_from(Review))
        approved = session.scalar(
            select(func.count())
            .select_from(HistoryEntry)
            .where(HistoryEntry.action.in_(["approved", "approved docx"]))
        )
        version_row = session.get(DraftVersion, version)
        assert version_row.approved_at is not None
    notes = [c for c in slack.of("chat.postMessage") if "is approved" in all_text(c)]
    uploads = slack.of("files.completeUploadExternal")
    duplicates = (approvals - 1) + (approved - 2) + (len(notes) - 1) + (len(uploads) - 1)
    tally(duplicates=duplicates)
    assert (approvals, approved, len(notes), len(uploads)) == (1, 2, 1, 1)
