"""The clock: one tick (`run_once`), the APScheduler job, and two `ciw-bot clock --once` racing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.reminders import clock as ticker
from db.models import Delivery
from tests.bot.reminders.test_planning import log, office, posts

ROOT = Path(__file__).resolve().parents[3]


def test_run_once_reports_what_it_did(runtime, slack):
    log(runtime, "2020-04-20T10:00")
    report = ticker.run_once(runtime, office("2020-04-09T09:00"))
    assert (report.sent, report.failed, report.dropped, report.skipped) == (3, 0, 0, 0)
    assert "sent 3" in str(report)
    assert ticker.run_once(runtime, office("2020-04-09T09:00")).sent == 0


def test_run_once_defaults_to_the_runtime_clock(runtime, slack, clock):
    log(runtime, "2020-04-20T10:00")
    clock.set("2020-04-09T09:00")
    assert ticker.run_once(runtime).sent == 3


def test_background_scheduler_ticks_at_once_and_sends_from_the_ledger(runtime, slack, clock):
    log(runtime, "2020-04-20T10:00")
    clock.set("2020-04-17T09:00")  # the 9 April ones were missed: the clock was down
    scheduler = ticker.start(runtime, blocking=False, interval_seconds=3600)
    try:
        job = scheduler.get_job(ticker.JOB_ID)
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time >= 600
        slack.wait_calls("chat.postMessage", 3)
    finally:
        scheduler.shutdown(wait=True)
    assert len(posts(slack)) == 3
    assert "next working day" in posts(slack)[0].get("text")


@pytest.mark.skipif(not (ROOT / ".venv/bin/ciw-bot").exists(), reason="console script missing")
def test_two_clock_processes_racing_send_each_reminder_once(runtime, slack, engine):
    """`ciw-bot clock --once --now …` twice at the same instant (PostgreSQL and SQLite)."""
    for n in range(12):
        log(runtime, "2020-04-20T10:00", title=f"meeting {n}")
    env = {
        **os.environ,
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": slack.api_url,
    }
    command = [str(ROOT / ".venv/bin/ciw-bot"), "clock", "--once", "--now", "2020-04-09T09:00"]
    racers = [
        subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [racer.communicate(timeout=120) for racer in racers]
    for racer, (out, err) in zip(racers, outputs, strict=True):
        assert racer.returncode == 0, err
        sys.stdout.write(out)
    sent = posts(slack)
    assert len(sent) == 36
    assert len({(c.get("channel"), c.get("text")) for c in sent}) == 36
    with runtime.transaction() as session:
        assert (
            session.scalar(
                select(Delivery.id).where(
                    Delivery.sent_at.is_(None), Delivery.due_at <= office("2020-04-09T09:00")
                )
            )
            is None
        )
