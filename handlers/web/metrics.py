"""`GET /metrics`: what an operator watches, in Prometheus' text format (`prometheus_client`).

Served only when CIW_METRICS_TOKEN is set, and only to a request bearing it
(`Authorization: Bearer <token>`); otherwise the path is 404, as if it did not exist.

- From the database, so they hold whichever process sends (the web process, a separate
  clock) and survive restarts: messages waiting in the outbox per platform and the age of
  the oldest, deliveries sent, failed (attempts) and given up, reminders due and unsent.
- From this process: requests by route and status, and their latency.

Routes are named from a fixed list (`route_of`), never from the path a stranger sent.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.delivery import outbox
from bot.runtime import Runtime

PATH = "/metrics"

# Known routes by exact path, then by prefix; anything else is "other".
_EXACT = {
    "/slack/events": "slack_events",
    "/api/messages": "teams_messages",
    "/healthz": "healthz",
    PATH: "metrics",
}
_PREFIXES = (("/calendar/", "calendar"), ("/files/", "files"))
# Seconds: an ack is wanted within 3 s (Slack), an answer within 15 s (the Bot Connector).
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)


def route_of(path: str) -> str:
    """The route a path is counted under: one of a fixed few names."""
    if path in _EXACT:
        return _EXACT[path]
    for prefix, name in _PREFIXES:
        if path.startswith(prefix):
            return name
    return "other"


class _Outbox:
    """A collector reading the outbox at each scrape (one query)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        """The outbox's metrics, per platform."""
        now = self.runtime.now()
        with self.runtime.transaction() as session:
            state = outbox.state_by_platform(session, now=now)
        waiting = GaugeMetricFamily(
            "ciw_outbox_waiting", "Messages due and not yet sent", labels=["platform"]
        )
        oldest = GaugeMetricFamily(
            "ciw_outbox_oldest_waiting_seconds",
            "How long the oldest message due has waited (0 when none waits)",
            labels=["platform"],
        )
        sent = CounterMetricFamily(
            "ciw_deliveries_sent", "Messages the platform accepted", labels=["platform"]
        )
        failed = CounterMetricFamily(
            "ciw_deliveries_failed",
            "Delivery attempts that failed (retried or given up)",
            labels=["platform"],
        )
        given_up = CounterMetricFamily(
            "ciw_deliveries_given_up",
            "Messages given up: refused for good or out of tries",
            labels=["platform"],
        )
        reminders = GaugeMetricFamily(
            "ciw_reminders_due", "Reminders due and not yet sent", labels=["platform"]
        )
        for platform in sorted(set(state) | set(self.runtime.platforms)):
            row = state.get(platform) or {}
            age = (now - row["oldest_due"]).total_seconds() if row.get("oldest_due") else 0.0
            waiting.add_metric([platform], row.get("waiting", 0))
            oldest.add_metric([platform], max(age, 0.0))
            sent.add_metric([platform], row.get("sent", 0))
            failed.add_metric([platform], row.get("failed", 0))
            given_up.add_metric([platform], row.get("given_up", 0))
            reminders.add_metric([platform], row.get("reminders_due", 0))
        yield from (waiting, oldest, sent, failed, given_up, reminders)


class Metrics:
    """One process's metrics: its own registry (tests build many apps), the request
    counters the server updates, and the outbox read at each scrape."""

    def __init__(self, runtime: Runtime) -> None:
        self.token = runtime.settings.metrics_token
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "ciw_http_requests",
            "HTTP requests answered, by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ciw_http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Outbox(runtime))

    def observe(self, path: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        route = route_of(path)
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def allowed(self, authorization: str) -> bool:
        """Whether the request bears the metrics token (compared in constant time)."""
        if not self.token:
            return False
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        )

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus' text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def endpoint(metrics: Metrics | None) -> Any:
    """The WSGI handler of `GET /metrics`: 404 unless the token is configured and borne."""

    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if metrics is None or not metrics.allowed(environ.get("HTTP_AUTHORIZATION", "")):
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Not found\n"]
        body, content_type = metrics.exposition()
        start_response("200 OK", [("Content-Type", content_type)])
        return [body]

    return application
