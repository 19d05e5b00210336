"""A clock back after weeks away, and requests racing each other for the same record."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time

from sqlalchemy import func, select

from bot.records import activities
from bot.reminders import clock as ticker
from db.models import Activity, Delivery, Draft, DraftVersion, HistoryEntry
from tests.bot.reminders.test_planning import INSPECTORS, log, move, office
from tests.faults.conftest import tally
from tests.handlers.slack.test_draft_letter import setup_demo


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


def test_concurrent_reschedules_each_record_the_true_previous_date(workspace, runtime):
    workspace.command("log-activity wrexham adults 2020-04-20T10:00 annual performance review")
    targets = [f"2020-0{5 + n // 28}-{1 + n % 28:02d}" for n in range(12)]
    replies: list[str] = []

    def reschedule(day: str, barrier: threading.Barrier) -> None:
        barrier.wait()
        reply = workspace.command(f"reschedule A1 {day} | moved", user="U0INSPECT")
        replies.append(reply.get("text") or "")

    # Six rounds of two people moving the same activity at the same moment.
    for pair in range(0, len(targets), 2):
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=reschedule, args=(day, barrier))
            for day in targets[pair : pair + 2]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(replies) == len(targets)
    assert all("rescheduled" in r for r in replies), replies
    moves = history_chain(runtime)
    with runtime.transaction() as session:
        final = session.get(Activity, 1)
        assert final is not None
        final_day = final.start_date.isoformat()
    assert len(moves) == len(targets)
    # A chain: each move starts where the one before it ended, the first at the logged date.
    stale = sum(1 for before, after in itertools.pairwise(moves) if after[0] != before[1])
    tally(duplicates=stale)
    assert moves[0][0] == "Mon 20 Apr 2020 10:00"
    assert stale == 0, moves
    # The activity is where the last recorded move put it.
    assert moves[-1][1] == shown(dt.date.fromisoformat(final_day)), (moves[-1], final_day)


def shown(day: dt.date) -> str:
    """A date as history shows it."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def history_chain(runtime) -> list[list[str]]:
    with runtime.transaction() as session:
        return [
            entry.changes["dates"].split(" -> ")
            for entry in session.scalars(
                select(HistoryEntry)
                .where(HistoryEntry.subject == "activity", HistoryEntry.action == "rescheduled")
                .order_by(HistoryEntry.id)
            )
        ]


def test_two_moves_in_flight_at_once_are_made_one_after_the_other(runtime, monkeypatch):
    # The domain as any caller uses it (Socket Mode, the shell): no earlier write in the
    # transaction to serialise it. Each move is held open a moment after reading the
    # activity, so the second reads while the first is in flight.
    activity_id = log(runtime, "2020-04-20T10:00", inspectors=INSPECTORS[:1])
    read = activities.get_activity

    def slow_read(session, number):
        activity = read(session, number)
        time.sleep(0.3)
        return activity

    monkeypatch.setattr(activities, "get_activity", slow_read)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def reschedule(day: str) -> None:
        barrier.wait()
        try:
            move(runtime, activity_id, "reschedule", now="2020-03-03T11:00", when=day)
        except BaseException as error:  # noqa: BLE001 - shown by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=reschedule, args=(d,)) for d in ("2020-05-04", "2020-05-05")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    moves = history_chain(runtime)
    tally(duplicates=sum(1 for a, b in itertools.pairwise(moves) if b[0] != a[1]))
    assert len(moves) == 2
    assert moves[0][0] == "Mon 20 Apr 2020 10:00"
    assert moves[1][0] == moves[0][1], moves
