"""A stranger on loopback: oversize, endless and trickling requests against `ciw-bot serve`.

The server runs as an operator runs it (its own process, Slack alone and Slack with
Teams), so its memory is read where it lives (/proc/<pid>/status). Every request loop here
is bounded in count and time; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers import http_guard
from handlers.http_guard import MAX_BODY, GuardedH11Protocol
from handlers.serve import Routes, Served, Serving
from handlers.slack.double import FakeSlack, SignedRequests
from tests.handlers.teams.double import FakeTeams, fake_teams
from tests.handlers.test_serve import SECRET, Serve, slack_env, teams_env

MB = 1024 * 1024
PATHS = ("/slack/events", "/api/messages", "/healthz", "/calendar/x.ics", "/files/x", "/else")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    double = FakeSlack().start()
    yield double
    double.stop()


@pytest.fixture
def cloud() -> Iterator[FakeTeams]:
    with fake_teams(tls=True) as double:
        yield double


@pytest.fixture(params=["slack", "slack+teams"])
def served(request, tmp_path: Path, slack: FakeSlack, cloud: FakeTeams) -> Iterator[Serve]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CIW_", "TEAMS_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    env.update(slack_env(slack))
    if request.param == "slack+teams":
        env.update(teams_env(cloud))
    server = Serve(env, tmp_path / "serve.log")
    yield server
    server.stop()


def memory_kb(pid: int, field: str) -> int:
    """A process's VmRSS (now) or VmHWM (its peak), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0 when the server said nothing)."""
    head = answer.split(b"\r\n", 1)[0].split()
    return int(head[1]) if len(head) > 1 else 0


def send_declared(port: int, path: str, declared: int, send: int) -> int:
    """POST declaring `declared` bytes and streaming up to `send` of them while the server
    lets us; the status it answered."""
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\n\r\n".encode()
        )
        sent = 0
        with contextlib.suppress(OSError):  # refused and closed while we were still sending
            while sent < send:
                conn.sendall(chunk)
                sent += len(chunk)
        try:
            return status_of(conn.recv(4096))
        except OSError:
            return 0


def send_chunked(port: int, path: str, total: int) -> int:
    """POST a chunked body of `total` bytes (no length declared); the status answered."""
    chunk = b"y" * 65536
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: bot\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        with contextlib.suppress(OSError):
            for _ in range(total // len(chunk)):
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            conn.sendall(b"0\r\n\r\n")
        try:
            return status_of(conn.recv(4096))
        except OSError:
            return 0


def get(port: int, path: str) -> tuple[int, float]:
    """GET on a fresh connection: the status and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n\r\n".encode())
        answer = conn.recv(4096)
    return status_of(answer), time.monotonic() - started


def test_oversize_bodies_are_refused_before_they_are_read(served: Serve):
    pid = served.process.pid
    resident = memory_kb(pid, "VmRSS")
    # Declared too large: refused on every route before a byte is read.
    for path in PATHS:
        assert send_declared(served.port, path, 200 * MB, 0) == 413, path
    # Eight strangers at once, each declaring 200 MB and pushing as much as it is let.
    statuses: list[int] = []
    workers = [
        threading.Thread(
            target=lambda p=path: statuses.append(send_declared(served.port, p, 200 * MB, 32 * MB))
        )
        for path in (PATHS * 2)[:8]
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert statuses.count(413) + statuses.count(0) == 8 and statuses.count(413) >= 1
    # Under the limit but lying: declares 100 bytes, sends 5 MB (the rest is not a body).
    assert send_declared(served.port, "/slack/events", 100, 5 * MB) in (401, 400, 0)
    # Chunked, no length declared: cut off as soon as it passes the limit.
    assert send_chunked(served.port, "/api/messages", 8 * MB) == 413
    assert send_chunked(served.port, "/slack/events", 8 * MB) == 413
    peak = memory_kb(pid, "VmHWM")
    # The server's peak grew by a few buffers, never by what was sent (~300 MB in all).
    assert peak - resident < 40 * 1024, (resident, peak)
    assert get(served.port, "/healthz")[0] == 200
    refused = [line for line in served.lines() if line.get("outcome") == "refused:413"]
    assert refused, "every refusal is logged (without the body)"


def test_a_body_just_under_the_limit_still_reaches_the_route(served: Serve, slack: FakeSlack):
    body, headers = SignedRequests(SECRET, slack).command("help")
    padded = body + b"&pad=" + b"z" * (MAX_BODY - len(body) - 10)
    assert len(padded) <= MAX_BODY
    # Reached the route: the signature no longer matches the padded body (401, not 413).
    assert served.post("/slack/events", padded, headers)[0] == 401
    assert served.post("/slack/events", body, headers)[0] == 200


def test_idle_connections_keep_no_one_waiting(served: Serve, slack: FakeSlack):
    # More idle connections than a thread-per-connection server's whole limit (waitress: 100),
    # each having sent part of a request head and then nothing.
    idle = []
    try:
        for _ in range(300):
            conn = socket.create_connection(("127.0.0.1", served.port), timeout=10)
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n")
            idle.append(conn)
        status, seconds = get(served.port, "/healthz")
        assert status == 200 and seconds < 2, seconds
        started = time.monotonic()
        assert served.slack_help(slack)[0] == 200  # a signed command is acknowledged
        assert time.monotonic() - started < 3
    finally:
        for conn in idle:
            conn.close()


@pytest.fixture
def quick_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The head and body deadlines short, so the tests need not wait out the real ones."""
    monkeypatch.setattr(GuardedH11Protocol, "head_timeout", 0.3)
    monkeypatch.setattr(http_guard, "BODY_TIMEOUT", 0.3)


@pytest.fixture
def echo() -> Iterator[Served]:
    """A route that answers what it was sent, behind `Serving` as `serve` runs it."""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        message = await receive()
        body = json.dumps({"length": len(message.get("body", b""))}).encode()
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    routes = Routes(app, lifespan=False)
    served = Served(Serving(routes)).start()
    yield served
    served.stop()


def test_a_trickled_request_head_is_cut_off(quick_deadlines, echo: Served):
    with socket.create_connection(("127.0.0.1", echo.port), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        # One header line every 50 ms: each keeps uvicorn's own idle timer from firing.
        for n in range(100):
            try:
                conn.sendall(f"X-Drip-{n}: 1\r\n".encode())
            except OSError:
                closed = True
                break
            conn.settimeout(0.05)
            try:
                if conn.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed, "the server kept a connection that never finished its head"
        assert time.monotonic() - started < 2


def test_a_trickled_body_is_answered_408(quick_deadlines, echo: Served):
    with socket.create_connection(("127.0.0.1", echo.port), timeout=5) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nHost: bot\r\nContent-Length: 100\r\n\r\n0123456789")
        assert status_of(conn.recv(4096)) == 408


def test_bodies_are_whole_and_bounded_for_the_route(echo: Served):
    with socket.create_connection(("127.0.0.1", echo.port), timeout=5) as conn:
        body = b"a" * 70_000  # more than one read's worth
        conn.sendall(
            b"POST / HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        conn.sendall(body)
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    assert status_of(answer) == 200
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"length": 70_000}
    assert send_declared(echo.port, "/", MAX_BODY + 1, 0) == 413
    assert send_chunked(echo.port, "/", 2 * MB) == 413
    with socket.create_connection(("127.0.0.1", echo.port), timeout=5) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nHost: bot\r\nContent-Length: nine\r\n\r\n")
        assert status_of(conn.recv(4096)) == 400
