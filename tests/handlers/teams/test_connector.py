"""The Teams sender's event loop (`handlers.teams.connector`): the work handed over after
an answer is taken in order, a few pieces at a time, once no request is being answered."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest

from bot.answering import Answering
from handlers.teams.connector import WORK_SLOTS, Connector
from tests.conftest import burst

# Of the after-ack pause itself: `Answering` waits for its production QUIET.
pytestmark = pytest.mark.pauses


class App:
    """What the connector needs of the SDK's App: `initialize` and its HTTP client."""

    def __init__(self) -> None:
        self.initialised = 0
        self.api = SimpleNamespace(http=SimpleNamespace(http=SimpleNamespace(timeout=None)))

    async def initialize(self) -> None:
        await asyncio.sleep(0.01)
        self.initialised += 1


@pytest.fixture
def connector():
    made = Connector(App(), answering=Answering())
    yield made
    made.close()


def test_work_is_started_in_order_a_few_at_a_time(connector):
    started: list[int] = []
    running = {"now": 0, "most": 0}
    lock = threading.Lock()

    def piece(n: int):
        async def work() -> int:
            with lock:
                started.append(n)
                running["now"] += 1
                running["most"] = max(running["most"], running["now"])
            await asyncio.sleep(0.02)
            with lock:
                running["now"] -= 1
            return n * 10

        return work

    futures = [connector.submit(piece(n)) for n in range(12)]
    assert [f.result(timeout=10) for f in futures] == [n * 10 for n in range(12)]
    assert started == list(range(12))
    assert 1 < running["most"] <= WORK_SLOTS
    assert connector.app.initialised == 1  # once, however many pieces asked at once
    assert connector.app.api.http.http.timeout is not None


def test_a_failing_piece_carries_its_error_and_stops_nothing_behind_it(connector):
    async def fails() -> None:
        raise ValueError("Teams said no")

    async def works() -> str:
        return "done"

    failed, after = connector.submit(fails), connector.submit(works)
    with pytest.raises(ValueError, match="Teams said no"):
        failed.result(timeout=10)
    assert after.result(timeout=10) == "done"


def test_work_waits_for_a_pause_in_the_requests_being_answered():
    answering = Answering()
    connector = Connector(App(), answering=answering)
    try:
        ran = threading.Event()

        async def work() -> None:
            ran.set()

        with burst(answering):
            future = connector.submit(work)
            assert not ran.wait(0.3)
        future.result(timeout=10)
        assert ran.is_set()
    finally:
        connector.close()


def test_nothing_is_taken_once_closed(connector):
    connector.close()

    async def work() -> None:
        return None

    with pytest.raises(RuntimeError, match="closed"):
        connector.submit(work)


def test_work_not_yet_started_at_close_is_cancelled():
    answering = Answering()
    connector = Connector(App(), answering=answering)

    async def work() -> None:
        return None

    with burst(answering):  # nothing starts while requests keep coming
        futures = [connector.submit(work) for _ in range(WORK_SLOTS + 3)]
        connector.close()
    waiting = [f for f in futures if not f.running() and not f.done()]
    assert not waiting, "every piece is done, running or cancelled"
    assert sum(f.cancelled() for f in futures) >= 3
