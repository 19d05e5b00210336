"""The Delivery ledger: exactly once under races, Slack faults and lapsed claims."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select, update

from bot import deliveries
from db.models import Delivery
from tests.bot.test_reminders import INSPECTORS, log, office, posts, tick


def rows(runtime) -> list[Delivery]:
    with runtime.transaction() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_two_clocks_at_the_same_instant_send_each_reminder_once(runtime, slack):
    for n in range(15):
        log(runtime, "2020-04-20T10:00", title=f"meeting {n}")
    assert len(rows(runtime)) == 15 * 3 * 2
    barrier = threading.Barrier(3)
    reports = []

    def run() -> None:
        barrier.wait()
        reports.append(tick(runtime, "2020-04-09T09:00"))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.sent for r in reports) == 45
    assert sum(r.failed for r in reports) == 0
    sent = posts(slack)
    # Each (conversation, activity) reminded exactly once.
    keys = [(c.get("channel"), c.get("text").split("*")[1]) for c in sent]
    assert len(keys) == 45 and len(set(keys)) == 45
    assert all(d.message_ts for d in rows(runtime) if d.sent_at is not None)


def test_429_with_retry_after_then_200_is_sent_once(runtime, slack):
    log(runtime, "2020-04-20T10:00", inspectors=("U0INSPECT",), channel=None)
    slack.fail(
        "chat.postMessage",
        429,
        times=1,
        headers={"Retry-After": "1"},
        body={"ok": False, "error": "ratelimited"},
    )
    report = tick(runtime, "2020-04-09T09:00")
    assert (report.sent, report.failed) == (1, 0)
    assert len(slack.of("failed:chat.postMessage")) == 1
    assert len(posts(slack)) == 1
    delivery = next(d for d in rows(runtime) if d.sent_at)
    assert delivery.attempts == 1 and delivery.last_error is None


def test_slack_failing_outright_is_not_marked_sent_and_retried_next_tick(runtime, slack, caplog):
    log(runtime, "2020-04-20T10:00", inspectors=("U0INSPECT",), channel=None)
    slack.fail("chat.postMessage", 500, times=20)
    report = tick(runtime, "2020-04-09T09:00")
    assert (report.sent, report.failed) == (0, 1)
    first = rows(runtime)[0]
    assert first.sent_at is None and first.cancelled_at is None
    assert first.claimed_at is None and first.attempts == 1
    assert "500" in first.last_error or "fake_fault" in first.last_error
    assert "will retry next tick" in caplog.text
    # The next tick tries again (the client retried 3 times within each tick).
    report = tick(runtime, "2020-04-09T09:00:30")
    assert (report.sent, report.failed) == (0, 1)
    assert rows(runtime)[0].attempts == 2
    assert len(slack.of("failed:chat.postMessage")) == 8
    assert posts(slack) == []


def test_a_failed_delivery_goes_out_once_slack_is_back(runtime, slack):
    log(runtime, "2020-04-20T10:00", inspectors=("U0INSPECT",), channel=None)
    slack.fail("chat.postMessage", 503, times=4)  # one whole tick's worth of retries
    assert tick(runtime, "2020-04-09T09:00").failed == 1
    report = tick(runtime, "2020-04-09T09:00:30")
    assert (report.sent, report.failed) == (1, 0)
    assert len(posts(slack)) == 1
    assert rows(runtime)[0].attempts == 2


def test_a_permanent_slack_error_gives_up_without_marking_sent(runtime, slack, caplog):
    log(runtime, "2020-04-20T10:00", inspectors=("U0INSPECT",), channel=None)
    slack.fail("chat.postMessage", 200, times=1, body={"ok": False, "error": "channel_not_found"})
    assert tick(runtime, "2020-04-09T09:00").failed == 1
    delivery = rows(runtime)[0]
    assert delivery.sent_at is None and delivery.cancelled_at is not None
    assert "channel_not_found" in delivery.last_error
    assert "given up" in caplog.text
    assert tick(runtime, "2020-04-09T09:01").failed == 0


def test_a_claim_held_by_another_clock_is_left_alone_until_it_lapses(runtime, slack):
    log(runtime, "2020-04-20T10:00", inspectors=("U0INSPECT",), channel=None)
    # Another clock claimed it just now (leases are timed by the wall clock).
    with runtime.transaction() as session:
        session.execute(
            update(Delivery).values(claimed_at=deliveries.wall_clock(), claim_token="other")
        )
    assert tick(runtime, "2020-04-09T09:05").sent == 0
    # The other clock died: once the lease has lapsed the reminder is taken over and sent.
    lapsed = deliveries.wall_clock() - deliveries.LEASE - dt.timedelta(seconds=1)
    with runtime.transaction() as session:
        session.execute(update(Delivery).values(claimed_at=lapsed))
    assert tick(runtime, "2020-04-09T09:06").sent == 1
    assert len(posts(slack)) == 1


def test_claim_is_exclusive(runtime):
    log(runtime, "2020-04-20T10:00", inspectors=("U0INSPECT",), channel=None)
    with runtime.transaction() as session:
        delivery_id = session.scalar(select(Delivery.id))
        assert deliveries.claim(session, delivery_id, "one")
    with runtime.transaction() as session:
        assert not deliveries.claim(session, delivery_id, "two")


def test_send_pending_sends_announcements_only(runtime, slack):
    from tests.bot.test_reminders import move

    activity_id = log(runtime, "2020-03-09T10:00", inspectors=INSPECTORS)
    move(runtime, activity_id, "postpone", now="2020-03-03T11:00")
    runtime.clock = lambda: office("2020-03-20T11:00")  # the postponed raise is due too
    assert deliveries.send_pending(runtime) == 3
    assert all("postponed" in c.get("text") for c in posts(slack))
    assert tick(runtime, "2020-03-20T11:00").sent == 3  # the clock sends the raise
