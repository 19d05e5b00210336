"""`GET /metrics` as Prometheus scrapes it, over real HTTP on loopback: only with the token,
the outbox read from the database, requests counted by route and status."""

from __future__ import annotations

import dataclasses
import datetime as dt
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from bot.settings import Settings
from db.models import Delivery

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, metrics_token=TOKEN)


def scrape(base: str, authorization: str | None = f"Bearer {TOKEN}") -> tuple[int, str, str]:
    request = urllib.request.Request(base + "/metrics")
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_only_a_request_bearing_the_token_sees_the_metrics(workspace):
    for authorization in (None, "Bearer wrong", f"Basic {TOKEN}", TOKEN, "Bearer "):
        status, _, body = scrape(workspace.base, authorization)
        assert status == 404 and "ciw_" not in body, authorization
    status, content_type, body = scrape(workspace.base)
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    assert "ciw_outbox_waiting" in body


def test_requests_are_counted_by_route_and_status(workspace):
    workspace.command("help")
    assert workspace.get("/healthz").status == 200
    assert workspace.get("/calendar/not-a-token.ics").status == 404
    assert workspace.get("/jane.doe-dob-03-04-2015").status == 404
    found = samples(scrape(workspace.base)[2])
    assert found[("ciw_http_requests_total", (("route", "slack_events"), ("status", "200")))] == 1
    assert found[("ciw_http_requests_total", (("route", "healthz"), ("status", "200")))] == 1
    assert found[("ciw_http_requests_total", (("route", "calendar"), ("status", "404")))] == 1
    # A path nobody serves is "other": what a stranger typed never becomes a label.
    assert found[("ciw_http_requests_total", (("route", "other"), ("status", "404")))] == 1
    assert found[("ciw_http_request_duration_seconds_count", (("route", "slack_events"),))] == 1
    assert "jane" not in scrape(workspace.base)[2]


def test_the_outbox_is_read_from_the_database(workspace, runtime, engine, clock):
    now = clock()
    rows = [
        # Waiting: a reminder due ten minutes ago (the oldest), a notice due a minute ago.
        {"kind": "reminder", "due_at": now - dt.timedelta(minutes=10)},
        {"kind": "notice", "due_at": now - dt.timedelta(minutes=1), "attempts": 2},
        # Not due yet: not waiting.
        {"kind": "reminder", "due_at": now + dt.timedelta(days=1)},
        # Sent at its second try.
        {"kind": "notice", "due_at": now, "sent_at": now, "attempts": 2},
        # Given up: the platform refused it for good.
        {
            "kind": "notice",
            "due_at": now,
            "cancelled_at": now,
            "attempts": 1,
            "last_error": "channel_not_found",
        },
        # No longer owed (the activity was cancelled): not given up.
        {
            "kind": "reminder",
            "due_at": now,
            "cancelled_at": now,
            "last_error": "not sent: activity cancelled",
        },
    ]
    blank = {"sent_at": None, "cancelled_at": None, "last_error": None, "attempts": 0}
    with engine.begin() as connection:
        for n, row in enumerate(rows):
            values = {"key": f"k{n}", "channel": "C1", "platform": "slack", **blank, **row}
            connection.execute(insert(Delivery).values(**values))
    found = samples(scrape(workspace.base)[2])
    slack = (("platform", "slack"),)
    assert found[("ciw_outbox_waiting", slack)] == 2
    assert found[("ciw_outbox_oldest_waiting_seconds", slack)] == 600
    assert found[("ciw_reminders_due", slack)] == 1
    assert found[("ciw_deliveries_sent_total", slack)] == 1
    assert found[("ciw_deliveries_given_up_total", slack)] == 1
    assert (
        found[("ciw_deliveries_failed_total", slack)] == 4
    )  # 2 waiting, 1 given up, 1 before the one sent
