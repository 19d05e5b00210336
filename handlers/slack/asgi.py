"""Slack's `POST /slack/events` served natively on the ASGI server (`ciw-bot serve`),
instead of through the a2wsgi bridge.

The body is read (at most 1 MB: `handlers.http_guard`) and Slack's signature checked on the
event loop (`signed_by_slack`: unsigned, wrongly signed or stale is 401 before Bolt sees it); Bolt's synchronous `App.dispatch` then runs in one hop on a bounded thread pool,
and its BoltResponse goes back as Bolt's own ASGI adapter sends it. Through a2wsgi each
request crossed between the loop and worker threads several times, each crossing waiting
for the interpreter lock that the work after earlier acks holds (docs/teams-design.md).
Bolt itself is untouched: its middleware (replays, guests, other workspaces), retries,
`X-Slack-Retry-Num` and acks before listeners finish are the same as through any other adapter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.asgi.http_response import AsgiHttpResponse

from handlers.http_guard import BodyRefused, read_body, refuse
from handlers.slack.server import SLACK_EVENTS, refused_malformed, retry_number, signed_by_slack

log = logging.getLogger("ciw.http")

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
PLAIN = {"content-type": "text/plain"}


class SlackEvents:
    """The ASGI endpoint of `POST /slack/events`: at most `threads` dispatches at once, on
    threads of its own (Bolt's listener threads wait on them; sharing could deadlock)."""

    def __init__(self, app: App, signing_secret: str, *, threads: int) -> None:
        assert signing_secret, "Slack's requests are only served signed"
        self.app = app
        self.secret = signing_secret
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ciw-slack")

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        started = time.monotonic()
        try:
            body = await read_body(receive)  # bounded, whether or not `Serving` read it first
        except BodyRefused as refused:
            await refuse(send, refused)
            return
        if body is None:
            return  # the client left before sending it all: no one to answer
        headers = _headers(scope)
        timestamp = headers.get("x-slack-request-timestamp", "")
        if not signed_by_slack(self.secret, timestamp, headers.get("x-slack-signature", ""), body):
            log.warning("unsigned request refused", extra={"outcome": "refused:unsigned"})
            await _send(send, BoltResponse(status=401, headers=PLAIN))
            return
        query = scope.get("query_string", b"").decode("latin-1")
        loop = asyncio.get_running_loop()
        try:
            answer = await loop.run_in_executor(self.pool, self._dispatch, body, query, headers)
        except Exception as error:  # noqa: BLE001 - logged by refused_malformed
            # Signed but malformed (JSON that is not an object, a `payload` that is not
            # JSON, JSON nested too deep to parse): Bolt's error handling itself trips on
            # it, or its parser. Nothing was done; 400.
            refused_malformed(error)
            answer = BoltResponse(status=400, body="malformed request", headers=PLAIN)
        log.info(
            "request",
            extra={
                "path": SLACK_EVENTS,
                "status": str(answer.status),
                "ms": round((time.monotonic() - started) * 1000, 1),
                "retry": retry_number(headers.get("x-slack-retry-num")),
            },
        )
        await _send(send, answer)

    def _dispatch(self, body: bytes, query: str, headers: dict[str, str]) -> BoltResponse:
        """Bolt's dispatch, as its WSGI adapter calls it (on a pool thread)."""
        return self.app.dispatch(
            BoltRequest(body=body.decode("utf-8"), query=query, headers=headers)
        )

    def shutdown(self) -> None:
        """Let the dispatches under way finish (the server has stopped taking requests)."""
        self.pool.shutdown(wait=True)


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    """The request's headers by lower-case name, a repeated one joined with ", " as a WSGI
    server joins it (so a second signature header spoils the signature)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


async def _send(send: Send, answer: BoltResponse) -> None:
    """Send Bolt's response as Bolt's ASGI adapter does (its headers, Content-Length)."""
    response = AsgiHttpResponse(answer.status, answer.headers, answer.body)
    await send(response.get_response_start())
    await send(response.get_response_body())
