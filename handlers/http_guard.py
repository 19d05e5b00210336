"""What a stranger can make the HTTP server do, bounded before any route sees a request.

- **Bodies.** Nothing the platforms send comes near `MAX_BODY` (a Slack payload or a Teams
  activity is a few kilobytes; Teams refuses to send messages over about 100 KB). A body
  declared larger is refused with 413 before a byte of it is read; one that streams past
  it (chunked, or lying about its length) is refused as soon as it does, so no request
  holds more than `MAX_BODY` in memory. A body must arrive whole within `BODY_TIMEOUT`
  (408 otherwise), so a client trickling one byte at a time holds nothing for long.
- **Request heads.** A connection must send a complete request head within
  `HEAD_TIMEOUT` of opening (or of its previous answer); otherwise it is closed.
  uvicorn itself only times out idle keep-alive connections, so a client sending one
  header line every few seconds would otherwise be kept for ever (`GuardedH11Protocol`).
  Connections are cheap on the event loop (no thread each), so idle ones never keep
  others from being served; these deadlines keep them from piling up.

`limited(app)` wraps an ASGI app with the body rules; `GuardedH11Protocol` is the HTTP
protocol `ciw-bot serve` runs uvicorn with.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("ciw.http")

MAX_BODY = 1024 * 1024  # bytes: the largest request body served
BODY_TIMEOUT = 20.0  # seconds a request's whole body may take to arrive
HEAD_TIMEOUT = 10.0  # seconds a connection may take to send a whole request head

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]


class BodyRefused(Exception):
    """The body cannot be served: its HTTP status and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def declared_length(scope: dict[str, Any]) -> int | None:
    """The request's Content-Length, None when it has none; BodyRefused (400) when it is
    not one number."""
    values = [v for k, v in scope.get("headers", ()) if k.lower() == b"content-length"]
    if not values:
        return None
    try:
        lengths = {int(v.decode("latin-1").strip()) for v in values}
    except ValueError:
        raise BodyRefused(400, "malformed Content-Length") from None
    if len(lengths) != 1 or min(lengths) < 0:
        raise BodyRefused(400, "malformed Content-Length")
    return lengths.pop()


async def read_body(
    receive: Receive, *, limit: int | None = None, timeout: float | None = None
) -> bytes | None:
    """The whole body, at most `limit` bytes (MAX_BODY), within `timeout` seconds
    (BODY_TIMEOUT); None when the client left first. BodyRefused (413, 408) as soon as it
    is too long or too slow."""
    limit = MAX_BODY if limit is None else limit
    timeout = BODY_TIMEOUT if timeout is None else timeout

    async def whole() -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyRefused(413, f"request body over {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    try:
        # A timer on this task, not a task of its own (asyncio.wait_for's): cheap per request.
        async with asyncio.timeout(timeout):
            return await whole()
    except TimeoutError:
        raise BodyRefused(408, "request body too slow") from None


async def refuse(send: Send, refused: BodyRefused) -> None:
    """Answer `refused` in plain text and ask the client to close the connection (what it
    has not sent of its body will never be read)."""
    body = f"{refused.reason}\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": refused.status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def limited(app: ASGIApp) -> ASGIApp:
    """`app` behind the body rules: every HTTP request's body read whole here (at most
    MAX_BODY bytes within BODY_TIMEOUT seconds) and handed to `app` as one message, so no
    route reads more."""

    async def guarded(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        try:
            length = declared_length(scope)
            if length is not None and length > MAX_BODY:
                raise BodyRefused(413, f"request body over {MAX_BODY} bytes")
            body = await read_body(receive)
        except BodyRefused as refused:
            log.warning(
                "request refused",
                extra={"status": str(refused.status), "outcome": f"refused:{refused.status}"},
            )
            await refuse(send, refused)
            return
        if body is None:
            return  # the client left before sending it all: no one to answer
        await app(scope, _replay(body, receive), send)

    return guarded


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read already, then waits on the real one (for the
    client's disconnect)."""
    given = False

    async def replayed() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that has not sent a whole request head
    within `HEAD_TIMEOUT` of opening or of its last answer (uvicorn times out only idle
    keep-alive connections: one that trickles a header line every few seconds it keeps)."""

    head_timeout = HEAD_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's head."""
        super().connection_made(transport)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        """Bytes in; the head's clock stops once a whole head has come."""
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_deadline()

    def on_response_complete(self) -> None:
        """An answer given: the next request's head has its own deadline."""
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """Gone: no clock left running for it."""
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        deadline = getattr(self, "_head_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.info("slow connection closed", extra={"outcome": "refused:head-timeout"})
            self.transport.close()
