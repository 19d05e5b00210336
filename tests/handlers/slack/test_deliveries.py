"""The Delivery ledger: exactly once under races, Slack faults and lapsed claims."""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import select, update

from db.models import Delivery
from handlers.slack import deliveries
from tests.bot.reminders.test_planning import INSPECTORS, log, office, posts, tick


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
    started = time.monotonic()
    report = tick(runtime, "2020-04-09T09:00")
    # Slack said wait a second: the same pass waited that long, then sent it, once.
    assert time.monotonic() - started >= 1.0
    assert (report.sent, report.failed) == (1, 1)
    assert len(slack.of("failed:chat.postMessage")) == 1
    assert len(posts(slack)) == 1
    delivery = next(d for d in rows(runtime) if d.sent_at)
    assert delivery.attempts == 2 and delivery.last_error is None


def test_slack_failing_outright_is_not_marked_sent_and_retried_next_tick(runtime, slack, caplog):
    log(runtime, "2020-04-20T10:00", inspectors=("U0INSPECT",), channel=None)
    slack.fail("chat.postMessage", 500, times=20)
    report = tick(runtime, "2020-04-09T09:00")
    assert (report.sent, report.failed) == (0, 1)
    first = rows(runtime)[0]
    assert first.sent_at is None and first.cancelled_at is None
    assert first.claimed_at is None and first.attempts == 1
    assert "500" in first.last_error or "fake_fault" in first.last_error
    assert first.last_error.startswith("uncertain") and first.next_attempt_at is not None
    assert "retried in" in caplog.text
    # Once its retry time has come, the next tick tries again.
    with runtime.transaction() as session:
        session.execute(update(Delivery).values(next_attempt_at=None))
    report = tick(runtime, "2020-04-09T09:00:30")
    assert (report.sent, report.failed) == (0, 1)
    assert rows(runtime)[0].attempts == 2
    # One call a tick: the sender never lets slack_sdk retry a post whose fate is unknown.
    assert len(slack.of("failed:chat.postMessage")) == 2
    assert posts(slack) == []


def test_a_failed_delivery_goes_out_once_slack_is_back(runtime, slack):
    log(runtime, "2020-04-20T10:00", inspectors=("U0INSPECT",), channel=None)
    slack.fail("chat.postMessage", 503, times=1)
    assert tick(runtime, "2020-04-09T09:00").failed == 1
    with runtime.transaction() as session:
        session.execute(update(Delivery).values(next_attempt_at=None))
    report = tick(runtime, "2020-04-09T09:00:30")
    assert (report.sent, report.failed) == (1, 0)
    assert len(posts(slack)) == 1
    assert rows(runtime)[0].attempts == 2
    # A 503 may hide a post Slack took: the conversation was read before posting again.
    assert slack.of("conversations.history")


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
    from tests.bot.reminders.test_planning import move

    activity_id = log(runtime, "2020-03-09T10:00", inspectors=INSPECTORS)
    move(runtime, activity_id, "postpone", now="2020-03-03T11:00")
    runtime.clock = lambda: office("2020-03-20T11:00")  # the postponed raise is due too
    assert deliveries.send_pending(runtime) == 3
    assert all("postponed" in c.get("text") for c in posts(slack))
    assert tick(runtime, "2020-03-20T11:00").sent == 3  # the clock sends the raise


def test_a_clock_killed_after_slack_took_the_reminder_never_sends_it_twice(runtime, slack):
    log(runtime, "2020-04-20T10:00", inspectors=("U0INSPECT",), channel=None)
    now = office("2020-04-09T09:00")
    # The first clock claims the reminder and Slack takes it; the clock dies before marking.
    with runtime.transaction() as session:
        row = session.scalars(select(Delivery).order_by(Delivery.due_at)).first()
        assert deliveries.claim(session, row.id, "dead clock")
        outgoing, _ = deliveries.render(runtime, session, row, now)
        key = row.key
    deliveries.deliver(runtime, outgoing, key)
    assert len(posts(slack)) == 1
    lapsed = deliveries.wall_clock() - deliveries.LEASE - dt.timedelta(seconds=1)
    with runtime.transaction() as session:
        session.execute(update(Delivery).where(Delivery.key == key).values(claimed_at=lapsed))
    report = tick(runtime, "2020-04-09T09:15")
    assert report.found == 1
    assert len(posts(slack)) == 1  # found by its key in the DM's history, not sent again
    with runtime.transaction() as session:
        row = session.scalars(select(Delivery).where(Delivery.key == key)).one()
        assert row.sent_at is not None
        assert row.message_ts == slack.messages["D0INSPECT"][0]["ts"]
