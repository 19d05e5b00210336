"""One process, one port: uvicorn serving the Teams SDK's FastAPI app, Slack's
/slack/events on its own route, and the WSGI application of the plain routes (/healthz,
calendar feeds) mounted beside /api/messages through a2wsgi, as `ciw-bot serve` does."""

from __future__ import annotations

import threading
import time
import urllib.request

from a2wsgi import WSGIMiddleware

from handlers.serve import Routes, Serving
from handlers.slack.asgi import SlackEvents
from handlers.slack.server import SLACK_EVENTS, wsgi_app
from handlers.teams.app import create_teams_app
from tests.conftest import SIGNING_SECRET, Workspace


def test_slack_and_teams_on_one_port_without_blocking_each_other(
    app, runtime, slack, teams_settings, cloud, serve
):
    heard: list[str] = []

    async def on_message(ctx) -> None:
        heard.append(ctx.activity.text)

    slack_wsgi = wsgi_app(app, runtime.engine)
    slow_started, release = threading.Event(), threading.Event()

    def application(environ, start_response):
        # A Slack-side request that takes a while, to show it holds no one else up.
        if environ["PATH_INFO"] == "/slow":
            slow_started.set()
            release.wait(10)  # until the Teams request below has had its answer
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"slow"]
        return slack_wsgi(environ, start_response)

    _, asgi = create_teams_app(
        teams_settings, on_message=on_message, fallback=WSGIMiddleware(application, workers=8)
    )
    routes = Routes(asgi)
    events = SlackEvents(app, SIGNING_SECRET, threads=4)
    runtime.on_shutdown(events.shutdown)
    routes.add(SLACK_EVENTS, events)
    served = serve(Serving(routes))

    workspace = Workspace(served.url, slack)
    assert workspace.get("/healthz").status == 200
    reply = workspace.command("help")
    assert "log-activity" in reply.get("text")

    slow = threading.Thread(
        target=lambda: urllib.request.urlopen(f"{served.url}/slow", timeout=10).read()
    )
    slow.start()
    assert slow_started.wait(5)
    ann = cloud.add_user("aad-ann", "Ann Inspector")
    started = time.monotonic()
    answer = urllib.request.urlopen(
        cloud.signed_post(served.url, cloud.message_activity("help", ann)), timeout=10
    )
    took = time.monotonic() - started
    slow_running = slow.is_alive()
    release.set()
    slow.join()
    assert answer.status == 200 and heard == ["help"]
    # Answered while the slow WSGI request was still running (it runs in a2wsgi's threads).
    assert slow_running and took < 1.5
