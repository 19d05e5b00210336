"""The clock: sends what the outbox says is due, once now or on an APScheduler interval.

The outbox decides what is due, not the scheduler's memory: every tick sends everything
due up to its moment that was not sent (reminders, and whatever a web process queued but
could not deliver: Slack down, the process killed), so a reminder missed while no clock
ran goes out at the first tick after one starts, and two clocks ticking together send it
once. A clock killed mid-send leaves a claim that lapses; the next sender looks for the
message in the conversation before sending it (each platform's sender: Slack's
`handlers.slack.deliveries`, Teams' `handlers.teams.sender`).

The CLI wires it: `ciw-bot clock --once [--now ISO]` → `run_once(runtime, now)`;
`ciw-bot clock` → `start(runtime, blocking=True)`; `serve/socket --with-clock` →
`start(runtime, blocking=False)`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.runtime import Runtime

log = logging.getLogger("ciw.clock")

INTERVAL_SECONDS = 30
JOB_ID = "ciw-deliveries"


@dataclass(frozen=True)
class TickReport:
    """What one tick did."""

    now: dt.datetime
    sent: int
    failed: int
    dropped: int
    skipped: int
    found: int = 0

    def __str__(self) -> str:
        return (
            f"{self.now.isoformat()}: sent {self.sent}, failed {self.failed}, "
            f"dropped {self.dropped}, skipped {self.skipped}, found already sent {self.found}"
        )


def run_once(runtime: Runtime, now: dt.datetime | None = None) -> TickReport:
    """Send everything due up to `now` (default: the runtime's now) that was not sent yet."""
    moment = (now or runtime.now()).astimezone(dt.UTC)
    counts = dict.fromkeys(("sent", "failed", "dropped", "skipped", "found"), 0)
    for platform in list(runtime.platforms.values()):
        report = platform.send_due(runtime, moment)
        for name in counts:
            counts[name] += getattr(report, name, 0)
    tick = TickReport(moment, **counts)
    if report.sent or report.failed or report.found:
        log.info("tick %s", tick)
    return tick


def start(
    runtime: Runtime, *, blocking: bool, interval_seconds: int = INTERVAL_SECONDS
) -> BaseScheduler:
    """Run `run_once` every `interval_seconds` from now on (the first tick at once).

    `blocking` runs in this thread until the process is stopped (`ciw-bot clock`); otherwise
    a background thread beside the server (`--with-clock`), and the scheduler is returned
    so the caller can `shutdown()` it. Ticks never overlap (max_instances=1), missed ones
    collapse into one (coalesce) and a late one still runs (generous misfire grace): what
    it sends comes from the ledger either way.
    """
    scheduler: BaseScheduler = (
        BlockingScheduler(timezone=dt.UTC) if blocking else BackgroundScheduler(timezone=dt.UTC)
    )
    scheduler.add_job(
        run_once,
        "interval",
        seconds=interval_seconds,
        args=[runtime],
        id=JOB_ID,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
        next_run_time=dt.datetime.now(dt.UTC),
        replace_existing=True,
    )
    log.info("clock started", extra={"interval_s": interval_seconds, "blocking": blocking})
    scheduler.start()
    return scheduler
