"""Faults: Slack failing (429, 5xx) and coming back, the database going away and back."""

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from sqlalchemy import func, select, text, update

from bot.records import activities
from db.models import Activity, Delivery
from db.session import make_engine
from handlers.slack import deliveries
from handlers.slack.client import client_of as slack_client_of
from handlers.slack.text import visible
from handlers.teams.text import TEAMS
from handlers.teams.text import visible as teams_visible
from tests.conftest import claims_released, outbox_settled
from tests.handlers.slack.test_draft_letter import CHANNEL, post_draft, setup_demo
from tests.handlers.slack.test_draft_review import REVIEWER, current_version

FUTURE = "log-activity wrexham children 2020-04-20T10:00 focused activity in children's services"
PAST = "log-activity wrexham adults 2019-10-15 inspection of the CMHT"


@pytest.fixture
def fast_retries(runtime):
    """The same retry handlers, with short waits so the suite stays quick."""
    for handler in slack_client_of(runtime).retry_handlers:
        handler.interval_calculator = FixedValueRetryIntervalCalculator(0.01)
    return slack_client_of(runtime)


def test_rate_limits_are_waited_out_and_retried(runtime, slack):
    slack.fail("chat.postMessage", 429, headers={"Retry-After": "1"})
    answer = slack_client_of(runtime).chat_postMessage(channel="G0REVIEW", text="hello")
    assert answer["ok"]
    assert len(slack.of("failed:chat.postMessage")) == 1
    assert len(slack.of("chat.postMessage")) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_backoff(fast_retries, slack, status):
    slack.fail("chat.postMessage", status, times=3)
    assert fast_retries.chat_postMessage(channel="G0REVIEW", text="hello")["ok"]
    assert len(slack.of("failed:chat.postMessage")) == 3
    assert len(slack.of("chat.postMessage")) == 1


def test_a_slack_hiccup_during_a_command_costs_nothing(workspace, runtime, slack, fast_retries):
    slack.fail("users.info", 503, times=2)
    reply = workspace.command(PAST)
    assert "A1" in reply.get("text")
    assert len(slack.of("failed:users.info")) == 2


def _announcements(runtime):
    with runtime.transaction() as session:
        return session.scalars(
            select(Delivery).where(Delivery.kind == "announce").order_by(Delivery.id)
        ).all()


def test_an_announcement_survives_slack_being_down_and_goes_once_when_it_is_back(
    workspace, runtime, slack, fast_retries, monkeypatch
):
    # The sender's own retries come after a fifth of a second, not 5 s, 30 s…
    monkeypatch.setattr(deliveries, "RETRY_BACKOFF", (0.2,) * len(deliveries.RETRY_BACKOFF))
    assert "A1" in workspace.command(FUTURE).get("text")
    slack.fail("chat.postMessage", 503, times=1000)  # Slack down: every attempt fails
    reply = workspace.command("postpone A1 | COVID-19 restrictions")
    assert "postponed" in visible(reply.get("text")).lower()
    # The bot tried (with retries) and kept what it owes; the command still answered.
    owed = slack.wait_for(
        lambda s: (lambda rows: rows if rows and all(d.attempts >= 1 for d in rows) else None)(
            _announcements(runtime)
        )
    )
    assert all(d.sent_at is None and d.last_error for d in owed)
    assert slack.of("chat.postMessage") == []

    slack._faults.clear()  # Slack is back: the sender tries again by itself, shortly
    posted = slack.wait_for(
        lambda s: len(s.of("chat.postMessage")) >= len(owed) and s.of("chat.postMessage"),
        timeout=20,
    )
    # Each row is marked sent by the sender once Slack has answered: wait for that, not
    # only for the posts (a row still waiting on its retry time counts as settled).
    slack.wait_for(lambda s: all(d.sent_at is not None for d in _announcements(runtime)))
    assert len(posted) == len(owed)
    assert {c.get("channel") for c in posted} >= {"G0REVIEW"}
    assert all("COVID-19 restrictions" in visible(c.get("text")) for c in posted)
    # Sent once: later ticks find nothing owed (even once the retry times have passed).
    with runtime.transaction() as session:
        session.execute(update(Delivery).values(next_attempt_at=None))
    assert deliveries.send_due(runtime).sent == 0
    assert len(slack.of("chat.postMessage")) == len(owed)
    assert all(d.sent_at is not None for d in _announcements(runtime))


PG_URL = os.environ.get("CIW_TEST_DATABASE_URL")


@pytest.fixture
def postgres_only(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("terminating backends is a PostgreSQL test")
    admin = make_engine(PG_URL)
    yield admin
    admin.dispose()


def _terminate_app_connections(admin):
    # Ends this database's other sessions (the app's pool), as a restart would; the server
    # itself keeps running for everyone else.
    with admin.connect() as connection:
        return connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()


def _count(runtime):
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(Activity))


def test_the_app_recovers_when_the_database_drops_its_connections(
    workspace, runtime, postgres_only
):
    assert "A1" in workspace.command(PAST).get("text")
    assert _terminate_app_connections(postgres_only) >= 1
    # The pool's connections are dead; pre-ping replaces them and the next command works.
    assert "A2" in workspace.command(PAST).get("text")
    assert workspace.get("/healthz").status == 200
    assert _count(runtime) == 2


def test_a_request_in_flight_when_the_database_goes_gets_a_polite_try_again(
    workspace, runtime, postgres_only, monkeypatch
):
    original = activities.log_activity

    def database_goes_away(session, **kwargs):
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        with postgres_only.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return original(session, **kwargs)

    monkeypatch.setattr(activities, "log_activity", database_goes_away)
    reply = workspace.command(PAST)
    assert "not answering just now" in visible(reply.get("text"))
    assert "Traceback" not in reply.get("text")
    monkeypatch.setattr(activities, "log_activity", original)
    assert _count(runtime) == 0
    assert "A1" in workspace.command(PAST).get("text")


@pytest.fixture
def sqlite_only(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL going away is the two tests above")
    return engine


@contextlib.contextmanager
def unopenable(path: Path) -> Iterator[None]:
    """SQLite's file made impossible to open (its path a directory) for the block."""
    stash = path.parent / "away"
    stash.mkdir()
    for file in [p for p in path.parent.iterdir() if p.name.startswith(path.name)]:
        # A -wal or -shm file goes when the last connection to the database closes.
        with contextlib.suppress(FileNotFoundError):
            file.rename(stash / file.name)
    path.mkdir()
    try:
        yield
    finally:
        path.rmdir()
        for file in list(stash.iterdir()):
            file.rename(path.parent / file.name)
        stash.rmdir()


def test_a_database_refusing_connections_gets_the_same_polite_answer_as_in_teams(
    workspace, runtime, slack, clock, sqlite_only
):
    setup_demo(runtime, clock)
    post_draft(workspace, slack)
    version = current_version(runtime)
    words = teams_visible(
        runtime.templates.in_dialect(TEAMS).message("errors/database_unavailable")
    )
    button = {
        "type": "block_actions",
        "user": {"id": REVIEWER, "username": "reviewer", "team_id": "T0CIW"},
        "trigger_id": "trigger-approve",
        "response_url": slack.response_url("approve"),
        "channel": {"id": CHANNEL, "name": "reviews"},
        "message": {"ts": "1.0", "text": "draft"},
        "actions": [{"type": "button", "action_id": "draft_approve", "value": str(version)}],
    }
    outbox_settled(runtime)  # the draft's messages sent and marked: the sender is done
    claims_released(runtime)
    runtime.engine.dispose()  # its pooled connections hold the file open
    with unopenable(Path(sqlite_only.url.database)):
        # And any the sender opened meanwhile (its last look for more to send can come a
        # moment after its last message was marked sent): from now on none opens.
        runtime.engine.dispose()
        health = workspace.get("/healthz")
        assert (health.status, json.loads(health.body)) == (
            503,
            {"status": "degraded", "database": "unavailable", "error": "SQLITE_CANTOPEN"},
        )
        assert visible(workspace.command(PAST).get("text")) == words
        slack.clear()
        assert workspace.interact(button).status == 200
        answer = slack.wait_for(lambda s: s.responses())
        assert [visible(r.get("text")) for r in answer] == [words]
        runtime.engine.dispose()
    assert workspace.get("/healthz").status == 200
    assert visible(workspace.command(PAST).get("text")).startswith("Recorded")
