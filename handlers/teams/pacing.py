"""Pacing of the Teams sender: per conversation, below Teams' per bot per thread limits
(https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit: send 7/1 s,
8/2 s, 60/30 s, 1800/h; create conversation the same)."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

# Per conversation, one less than each of Teams' per bot per thread limits (seconds, calls).
PACE = ((1.0, 6), (2.0, 7), (30.0, 55), (3600.0, 1700))


class Pacer:
    """Sliding windows per conversation below Teams' per thread limits; held on a 429."""

    def __init__(
        self,
        limits: tuple[tuple[float, int], ...] = PACE,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.clock = clock  # monotonic seconds (tests drive their own)
        self._lock = threading.Lock()
        self._calls: dict[str, collections.deque[float]] = {}
        self._held: dict[str, float] = {}

    def delay(self, key: str) -> float:
        """Seconds to wait before the next call in `key` (0: it is taken now)."""
        now = self.clock()
        with self._lock:
            held = self._held.get(key, 0.0) - now
            if held > 0:
                return held
            calls = self._calls.setdefault(key, collections.deque())
            while calls and now - calls[0] >= self.limits[-1][0]:
                calls.popleft()
            wait = 0.0
            for seconds, allowed in self.limits:
                inside = [t for t in calls if now - t < seconds]
                if len(inside) >= allowed:
                    wait = max(wait, inside[-allowed] + seconds - now)
            if wait > 0:
                return wait + 0.01
            calls.append(now)
            return 0.0

    def hold(self, key: str, seconds: float) -> None:
        """Send nothing in `key` for `seconds` (after a 429)."""
        with self._lock:
            self._held[key] = max(self._held.get(key, 0.0), self.clock() + seconds)

    def wait_turn(self, key: str) -> None:
        """Block until a call in `key` is allowed, and take it."""
        while (delay := self.delay(key)) > 0:
            time.sleep(min(delay, 1.0))
