"""Acknowledgements first: the requests this process is answering right now, and the work
after an answer waiting for a pause in them.

Slack wants its ack within 3 s and the Bot Connector its answer within 15 s, or they
retry (and the person sees an error); the answer to a command can come a moment later
without anyone minding. In one Python process both kinds of work share one interpreter
lock, so under a burst of requests the work after earlier answers would slow every new
answer down. So that work (a command's run and reply, `Runtime.after_ack` and the Teams
sender's loop) starts in a pause: once no request has come or been answered for `QUIET`
seconds (one slow request in flight holds nothing up), or once it has waited `PAUSE_WAIT`
seconds. With requests arriving at a human pace it starts at once (`QUIET` after its own
request); under a burst it comes after it, and never more than a few seconds late.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PAUSE_WAIT = 2.5  # seconds the work after an answer waits at most for a pause
QUIET = 0.05  # seconds with no request come or answered that make a pause
_POLL = 0.02  # seconds between looks, on an event loop


class Answering:
    """When the process last took or answered a request (marked by the HTTP servers)."""

    def __init__(
        self, quiet: float = QUIET, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.quiet = quiet
        self.clock = clock  # monotonic seconds (tests drive their own)
        self._last = float("-inf")  # clock() of the last arrival or answer

    @contextmanager
    def request(self) -> Iterator[None]:
        """Mark one request's arrival, and its answer once given."""
        self._last = self.clock()
        try:
            yield
        finally:
            self._last = self.clock()

    @property
    def busy(self) -> bool:
        """Whether a request came or was answered less than `quiet` seconds ago."""
        return self.clock() - self._last < self.quiet

    def pause(self, most: float = PAUSE_WAIT) -> bool:
        """Block until a pause (`busy` false), at most `most` seconds; whether one came
        (False: waited the longest)."""
        deadline = self.clock() + most
        while self.busy:
            left = deadline - self.clock()
            if left <= 0:
                return False
            # Looked at again when the newest request would be `quiet` seconds old.
            time.sleep(min(left, max(self._last + self.quiet - self.clock(), 0.001)))
        return True

    async def paused(self, most: float = PAUSE_WAIT) -> bool:
        """`pause` for a coroutine: the event loop goes on meanwhile."""
        deadline = self.clock() + most
        while self.busy:
            left = deadline - self.clock()
            if left <= 0:
                return False
            await asyncio.sleep(min(left, max(self._last + self.quiet - self.clock(), _POLL)))
        return True
