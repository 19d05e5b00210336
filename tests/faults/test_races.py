"""A clock back after weeks away, and requests racing each other for the same record."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from bot import clock as ticker
from db.models import Delivery, Draft, DraftVersion
from tests.bot.test_reminders import INSPECTORS, log, move, office
from tests.faults.conftest import tally
from tests.handlers.test_draft_letter import setup_demo


def test_a_postponed_activity_is_raised_once_after_clock_downtime_then_every_ten_days(
    runtime, slack
):
    activity_id = log(runtime, "2020-03-09T10:00", inspectors=INSPECTORS[:1], channel=None)
    move(runtime, activity_id, "postpone", now="2020-03-03T11:00")
    slack.clear()
    # No clock ran for about two months; then it ticks every 30 s for a while.
    for moment in ("2020-05-11T09:00", "2020-05-11T09:00:30", "2020-05-11T09:01"):
        ticker.run_once(runtime, office(moment))
    nudges = [
        c
        for c in slack.of("chat.postMessage")
        if c.get("metadata")["event_payload"]["key"].startswith("postponed:")
    ]
    tally(duplicates=len(nudges) - 1)
    assert len(nudges) == 1
    with runtime.transaction() as session:
        upcoming = session.scalars(
            select(Delivery.due_at).where(Delivery.sent_at.is_(None), Delivery.kind == "postponed")
        ).all()
    # The next one 10 working days after the catch-up: Monday 11 May → Tuesday 26 May
    # (Monday 25 May 2020 was the spring bank holiday).
    assert [
        d.astimezone(office("2020-05-25T09:00").tzinfo).date().isoformat() for d in upcoming
    ] == ["2020-05-26"]


def test_parallel_draft_requests_all_get_a_real_answer(workspace, runtime, slack, clock):
    setup_demo(runtime, clock)
    replies: list[str] = []
    barrier = threading.Barrier(6)

    def ask(n: int) -> None:
        barrier.wait()
        reply = workspace.command("draft-letter wrexham 2019-20", user=f"U0INSP{n}")
        replies.append(reply.get("text"))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(replies) == 6
    assert not [r for r in replies if "not answering" in r or "went wrong" in r], replies
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 1
        versions = session.scalar(select(func.count()).select_from(DraftVersion))
    assert versions == 6
