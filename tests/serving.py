"""`ciw-bot serve` started as an operator starts it: its own process, on a free loopback
port, its output kept in a file, ready once `/healthz` answers.

A free port is free only until someone takes it: on a busy machine another process's
connection may take it between our asking and the server's binding. The server then says
"address already in use" and stops, and it is started again on another port; any other
early exit fails the test with what the server printed.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = (sys.executable, "-m", "bot.cli")
TRIES = 3  # ports taken meanwhile before giving up
START_WITHIN = 60.0  # seconds; the imports alone take ~2 s of CPU, far more under load


def free_port() -> int:
    """A port nobody listens on now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """A `serve` process, started and answering `/healthz`; `health` is its first answer
    (status, JSON body) or None when not waited for."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        *,
        program: Sequence[str] = PROGRAM,
        args: Sequence[str] = (),
        cwd: Path = ROOT,
        wait: bool = True,
    ) -> None:
        self.log = log
        self.health: tuple[int, Any] | None = None
        for _ in range(TRIES):
            if self._start(env, program, args, cwd, wait):
                return
        raise AssertionError(f"no free port to serve on:\n{self.text()}")

    def _start(
        self,
        env: dict[str, str],
        program: Sequence[str],
        args: Sequence[str],
        cwd: Path,
        wait: bool,
    ) -> bool:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [*program, "serve", "--host", "127.0.0.1", "--port", str(self.port), *args]
        with self.log.open("w") as out:  # the child has its own copy of the descriptor
            self.process = subprocess.Popen(
                command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
            )
        if not wait:
            return True
        deadline = time.monotonic() + START_WITHIN
        while True:
            if self.process.poll() is not None:
                said = self.text()
                assert "address already in use" in said, f"serve stopped:\n{said}"
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    self.health = (answer.status, json.loads(answer.read()))
                    return True
            except OSError:
                assert time.monotonic() < deadline, f"serve never answered:\n{self.text()}"
                time.sleep(0.1)

    def text(self) -> str:
        """What the process has printed so far."""
        return self.log.read_text(errors="replace")

    def lines(self) -> list[dict[str, Any]]:
        """Its JSON log lines."""
        return [json.loads(line) for line in self.text().splitlines() if line.startswith("{")]

    def stop(self, timeout: float = 30) -> None:
        """Stop it as an orchestrator does (SIGTERM), killed if it does not go in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
