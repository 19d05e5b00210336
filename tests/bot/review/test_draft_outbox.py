"""A draft's parent message shows its state: a decision recorded while a sender is taking
the waiting refresh is shown all the same (`bot.review.draft_outbox.enqueue_refresh`).

The two transactions run side by side on PostgreSQL, where they can interleave; SQLite
lets one writer in at a time, and a decision has written before it looks for a refresh.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select, text

from bot.delivery import outbox
from bot.review import draft_outbox
from db.models import Authority, Delivery, Draft
from db.session import session_factory, transaction

NOW = dt.datetime(2020, 8, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def sessions(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: the two cannot interleave")
    return session_factory(engine)


@pytest.fixture
def draft_id(sessions) -> int:
    """A draft with a refresh of its parent message waiting in the outbox."""
    with transaction(sessions) as session:
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        draft = Draft(
            authority=wrexham, review_year=2019, channel_id="G0REVIEW", created_by="U0INSPECT"
        )
        session.add(draft)
        session.flush()
        draft_outbox.enqueue_refresh(session, draft, now=NOW)
        return draft.id


def refreshes(sessions) -> list[Delivery]:
    with transaction(sessions) as session:
        return list(
            session.scalars(
                select(Delivery).where(Delivery.kind == draft_outbox.PARENT).order_by(Delivery.id)
            )
        )


def lock_waits(sessions) -> int:
    """How many sessions of this database are waiting for a lock now."""
    with transaction(sessions) as session:
        return session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


def test_a_refresh_being_claimed_is_not_counted_on_a_new_one_is_queued(sessions, draft_id):
    (waiting,) = refreshes(sessions)
    decided = threading.Event()

    def decide() -> None:  # a decision that wants the parent refreshed
        with transaction(sessions) as session:
            draft_outbox.enqueue_refresh(session, session.get(Draft, draft_id), now=NOW)
        decided.set()

    # A sender claims the waiting refresh, and would read the state, before the decision
    # commits.
    with transaction(sessions) as sending:
        assert outbox.claim(sending, waiting.id, "sender-token")
        decider = threading.Thread(target=decide)
        decider.start()
        deadline = time.monotonic() + 10
        while not decided.is_set() and lock_waits(sessions) == 0:
            assert time.monotonic() < deadline, "the decision neither finished nor waited"
            time.sleep(0.01)
        # The decision waits for the claim rather than counting on the refresh it takes.
        assert not decided.is_set()
    decider.join(timeout=10)
    assert decided.is_set()
    first, second = refreshes(sessions)
    assert first.claim_token == "sender-token"
    assert second.claimed_at is None and second.sent_at is None  # shows the decision


def test_a_refresh_a_decision_counts_on_is_not_claimed_until_the_decision_commits(
    sessions, draft_id
):
    (waiting,) = refreshes(sessions)
    with transaction(sessions) as deciding:
        draft_outbox.enqueue_refresh(deciding, deciding.get(Draft, draft_id), now=NOW)
        # A sender meanwhile passes the refresh by, rather than reading the state before
        # the decision is in it.
        with transaction(sessions) as sending:
            assert not outbox.claim(sending, waiting.id, "early")
    assert len(refreshes(sessions)) == 1  # the waiting one was enough
    with transaction(sessions) as sending:
        assert outbox.claim(sending, waiting.id, "after")
