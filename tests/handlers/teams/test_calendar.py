# ruff: noqa: F811 - `teams_runtime` is the fixture imported from test_sender
"""A Teams inspector's calendar feed over HTTP: served while Teams last described them as a
full member of this tenant, 404 once they are a guest (or unknown)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from bot.calendar import feeds
from db.models import TeamsMember
from handlers.web.app import web_app
from tests.handlers.teams.test_sender import ANN, log, office, teams_runtime  # noqa: F401


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):  # the feed's token must not reach the test's output
        pass


@pytest.fixture
def feed_server(teams_runtime):
    server = make_server("127.0.0.1", 0, web_app(teams_runtime, {}), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_a_teams_inspectors_feed_follows_what_teams_says_of_them(teams_runtime, feed_server):
    log(teams_runtime, "2020-04-20T10:00")
    with teams_runtime.transaction() as session:
        token = feeds.issue(session, user_id=ANN, platform="teams", now=office("2020-03-02T10:00"))
    status, body = fetch(f"{feed_server}/calendar/{token}.ics")
    assert status == 200
    assert "performance review meeting" in body and "BEGIN:VEVENT" in body

    with teams_runtime.transaction() as session:
        session.get(TeamsMember, ANN).user_role = "guest"
    assert fetch(f"{feed_server}/calendar/{token}.ics")[0] == 404

    with teams_runtime.transaction() as session:
        session.delete(session.get(TeamsMember, ANN))
    assert fetch(f"{feed_server}/calendar/{token}.ics")[0] == 404
