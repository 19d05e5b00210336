"""Teams on loopback: the bot's Teams app served by uvicorn on a free port, against the fake
cloud (`cloud`, tests/handlers/conftest.py: over HTTPS, trusted the standard way)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from bot.settings import Settings
from handlers.teams.double import FakeTeams


@pytest.fixture
def teams_settings(cloud: FakeTeams) -> Settings:
    return Settings.from_env(
        {
            "TEAMS_APP_ID": cloud.app_id,
            "TEAMS_APP_PASSWORD": cloud.app_password,
            "TEAMS_TENANT_ID": cloud.tenant_id,
            "TEAMS_OPENID_METADATA_URL": cloud.openid_metadata_url,
            "TEAMS_LOGIN_URL": cloud.login_url,
        }
    )


class Served:
    """An ASGI app served by uvicorn on 127.0.0.1 in a thread."""

    def __init__(self, asgi: Any) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(asgi, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> Served:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self._socket.close()


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[Served] = []

    def start(asgi: Any) -> Served:
        served = Served(asgi).start()
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def org(teams_settings: Settings, engine: Any, clock: Any, cloud: FakeTeams, serve: Any):
    """The bot's Teams app (`handlers.teams.create_app`) on a fresh database, served on
    loopback, in a tenant with people, a team and its channel (`tests.handlers.teams.world`)."""
    from handlers.teams import create_app
    from tests.handlers.teams.world import Org, teams_runtime

    runtime = teams_runtime(teams_settings, engine, clock)
    asgi = create_app(runtime)
    served = serve(asgi)
    yield Org(cloud, served.url, runtime, asgi.state.teams_app)
    served.stop()  # its lifespan waits for the work still running
    runtime.shutdown()
