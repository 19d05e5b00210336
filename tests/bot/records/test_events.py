"""The records' events: handled at once by their followers, in the publisher's transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot.records import activities, events
from bot.records.dates import parse_when
from db.models import Authority, Delivery, Service

NOW = dt.datetime(2020, 3, 2, 10, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Unfollowed:
    what: str


def test_an_event_nobody_follows_is_an_error_not_a_silent_loss(runtime):
    with runtime.transaction() as session, pytest.raises(LookupError, match="Unfollowed"):
        events.publish(session, Unfollowed("x"))


def test_a_follower_is_called_once_however_often_it_follows(runtime):
    seen = []

    @dataclass(frozen=True)
    class Happened:
        n: int

    def note(_session, event):
        seen.append(event.n)

    events.follow(Happened, note)
    events.follow(Happened, note)
    with runtime.transaction() as session:
        events.publish(session, Happened(1))
    assert seen == [1]


def test_the_reminders_planned_for_an_activity_roll_back_with_it(runtime):
    """The follower (bot.reminders) writes in the publisher's transaction: when recording
    the activity fails later in that transaction, neither the activity nor its reminders stay."""

    def planned() -> int:
        with runtime.transaction() as session:
            return session.scalar(select(func.count()).select_from(Delivery))

    with pytest.raises(RuntimeError), runtime.transaction() as session:
        authority = session.scalar(select(Authority).where(Authority.slug == "wrexham"))
        activities.log_activity(
            session,
            authority=authority,
            service=Service.CHILDREN,
            when=parse_when("21/4/2020"),
            title="performance review meeting",
            details=None,
            inspectors=["U0INSPECT"],
            actor="U0INSPECT",
            channel_id="G0REVIEW",
            today=NOW.date(),
            now=NOW,
        )
        session.flush()
        assert session.scalar(select(func.count()).select_from(Delivery)) > 0
        raise RuntimeError("the rest of the request failed")
    assert planned() == 0
