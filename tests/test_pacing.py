"""The senders' pacing, on a clock the test drives: the schedule each pacer keeps, through
the waiting loops the senders use (`handlers.slack.deliveries._wait_turn`,
`handlers.teams.pacing.Pacer.wait_turn`, `handlers.teams.answers._turn_in`).

Everywhere else the tests' pacers skip ahead in virtual time (tests/conftest.py); here the
production classes and loops run, only their clock and sleep are the test's.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from handlers.slack import deliveries
from handlers.teams import answers, pacing
from tests.handlers.teams.double import RATE_LIMITS

# The production classes, taken at import: the autouse `driven_time` fixture puts skipping
# subclasses in their place while a test runs.
SlackPacer = deliveries.Pacer
TeamsPacer = pacing.Pacer


class DrivenTime:
    """A monotonic clock that moves only when slept on, recording each sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def driven(monkeypatch: pytest.MonkeyPatch) -> DrivenTime:
    """The senders' waiting loops sleep on a driven clock."""
    clock = DrivenTime()
    fake = SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep)
    monkeypatch.setattr(deliveries, "time", fake)
    monkeypatch.setattr(pacing, "time", fake)
    monkeypatch.setattr(answers, "asyncio", SimpleNamespace(sleep=clock.asleep))
    return clock


def within_limits(times: list[float], limits: tuple[tuple[float, int], ...]) -> bool:
    """Whether calls at these times keep to every (seconds, allowed) sliding window."""
    return all(
        sum(1 for t in times if start <= t < start + seconds) <= allowed
        for seconds, allowed in limits
        for start in times
    )


# -- Slack: a token bucket per channel ---------------------------------------------------------
def slack_sender(driven: DrivenTime) -> SimpleNamespace:
    runtime = SimpleNamespace()
    deliveries.set_pacer(runtime, SlackPacer(clock=driven.monotonic))
    return runtime


def test_slack_posts_to_a_channel_go_in_a_burst_then_one_a_second(driven):
    runtime = slack_sender(driven)
    sent = []
    for _ in range(6):
        deliveries._wait_turn(runtime, "C1")
        sent.append(driven.now)
    burst = deliveries.PACE_BURST
    rate = deliveries.PACE_PER_SECOND
    assert sent == pytest.approx([0.0] * burst + [n / rate for n in range(1, 7 - burst)])
    # Another channel has its own bucket: not held back by the first one's pace.
    before = driven.now
    deliveries._wait_turn(runtime, "C2")
    assert driven.now == before
    # Never more than Slack takes (about one a second, short bursts) in any second.
    assert within_limits(sent, ((1.0, burst),))


def test_slack_a_429_holds_the_channel_for_its_retry_after(driven):
    runtime = slack_sender(driven)
    deliveries._wait_turn(runtime, "C1")
    held_at = driven.now
    deliveries.pacer_of(runtime).hold("C1", 30.0)
    deliveries._wait_turn(runtime, "C2")  # other channels go on
    assert driven.now == held_at
    deliveries._wait_turn(runtime, "C1")
    assert held_at + 30.0 <= driven.now <= held_at + 31.0
    assert max(driven.slept) <= 1.0  # looked at again at least once a second


# -- Teams: sliding windows per conversation ----------------------------------------------------
def test_teams_sends_in_a_conversation_keep_below_every_window(driven):
    pacer = TeamsPacer(clock=driven.monotonic)
    sent = []
    for _ in range(80):
        pacer.wait_turn("conversation")
        sent.append(driven.now)
    assert within_limits(sent, RATE_LIMITS["send"])
    assert within_limits(sent, pacing.PACE)
    # As fast as the windows allow: the first second's calls at once, 80 within a minute.
    assert sent[: pacing.PACE[0][1]] == [0.0] * pacing.PACE[0][1]
    assert sent[-1] < 60.0
    # Another conversation is not held back.
    before = driven.now
    pacer.wait_turn("another")
    assert driven.now == before


def test_teams_answers_wait_their_turn_in_the_same_windows(driven):
    pacer = TeamsPacer(clock=driven.monotonic)

    async def answer_many() -> list[float]:
        sent = []
        for _ in range(20):
            await answers._turn_in(pacer, "conversation")
            sent.append(driven.now)
        return sent

    sent = asyncio.run(answer_many())
    assert within_limits(sent, RATE_LIMITS["send"])
    assert sent[-1] > 1.0  # the windows held some back


def test_teams_a_429_holds_the_conversation(driven):
    pacer = TeamsPacer(clock=driven.monotonic)
    pacer.wait_turn("conversation")
    pacer.hold("conversation", 8.0)
    held_at = driven.now
    pacer.wait_turn("another")
    assert driven.now == held_at
    pacer.wait_turn("conversation")
    assert held_at + 8.0 <= driven.now < held_at + 8.1
