"""Acknowledgements first (`bot.answering`): the work after an answer waits for a pause in
the requests' comings and goings, never longer than it is allowed."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bot.answering import Answering
from tests.conftest import burst

# Of the after-ack pause itself: `Answering` waits for its production QUIET.
pytestmark = pytest.mark.pauses


def test_with_no_request_lately_the_work_goes_at_once():
    answering = Answering()
    assert not answering.busy
    assert answering.pause(most=0.0) is True
    assert asyncio.run(answering.paused(most=0.0)) is True


def test_the_work_waits_while_requests_keep_coming_and_goes_when_they_stop():
    answering = Answering(quiet=0.05)
    waited: list[bool] = []
    worker = threading.Thread(target=lambda: waited.append(answering.pause(most=30.0)))
    with burst(answering):
        worker.start()
        worker.join(timeout=0.4)
        assert worker.is_alive(), "requests are still coming"
    started = time.monotonic()
    worker.join(timeout=10)
    assert waited == [True]
    assert time.monotonic() - started < 5


def test_a_coroutine_waits_the_same_and_leaves_its_loop_free():
    answering = Answering(quiet=0.05)

    async def scenario() -> list[str]:
        happened: list[str] = []

        async def work() -> None:
            assert await answering.paused(most=30.0)
            happened.append("work")

        async def meanwhile() -> None:
            await asyncio.sleep(0.2)
            happened.append("loop free")

        with burst(answering):
            task = asyncio.ensure_future(work())
            await meanwhile()
            assert happened == ["loop free"], "requests are still coming"
        await task
        return happened

    assert asyncio.run(scenario()) == ["loop free", "work"]


def test_one_slow_request_holds_nothing_up():
    answering = Answering(quiet=0.05)
    with answering.request():  # a long download, say: nothing else comes
        started = time.monotonic()
        assert answering.pause(most=30.0) is True
        assert asyncio.run(answering.paused(most=30.0)) is True
        assert time.monotonic() - started < 5


def test_under_requests_without_a_pause_the_work_goes_after_the_longest_wait():
    answering = Answering(quiet=0.05)
    with burst(answering):
        assert answering.pause(most=0.2) is False
        assert asyncio.run(answering.paused(most=0.2)) is False
