"""What every platform's sender shares: the report of a pass over the outbox, and the
background thread that sends what a request queued once its transaction has committed.

The senders themselves are the platforms' (`handlers.slack.deliveries`,
`handlers.teams.sender`); this module knows no platform.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("ciw.sending")


@dataclass
class SendReport:
    """What one pass over the outbox did."""

    sent: int = 0
    failed: int = 0
    dropped: int = 0
    skipped: int = 0  # claimed by someone else (another sender) meanwhile
    found: int = 0  # already on the platform (an earlier attempt got there): marked, not re-sent
    resent: int = 0  # of `sent`: sent again after an outcome the platform never told us


class Sender:
    """A background thread that runs `send_due(runtime)` when woken (after each commit that
    queued messages), and again `retry_after` seconds after a pass that had failures."""

    def __init__(
        self,
        runtime: Any,
        send_due: Callable[[Any], SendReport],
        *,
        name: str,
        retry_after: float,
    ) -> None:
        self.runtime = runtime
        self._send_due = send_due
        self._retry_after = retry_after
        self._name = name
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def kick(self) -> None:
        """Something was queued: send it now."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the message in hand and stop."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        again: float | None = None
        while not self._stop.is_set():
            self._wake.wait(timeout=again)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                report = self._send_due(self.runtime)
                # Rows that failed wait for their retry time: look again shortly.
                again = self._retry_after if report.failed else None
            except Exception:
                log.exception("%s failed; the clock will send what is left", self._name)
                again = self._retry_after
