"""Teams on loopback: the bot's Teams app served by uvicorn on a free port, against the fake
cloud (`cloud`, tests/handlers/conftest.py: over HTTPS, trusted the standard way)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.settings import Settings
from handlers.serve import Served
from tests.handlers.teams.double import FakeTeams


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


@pytest.fixture
def files_org(teams_settings, engine, clock, cloud, serve):
    """The Teams app as `serve` composes it for Teams alone: `/api/messages`, and behind it
    the plain routes (`/files/<token>`), PUBLIC_URL the served address."""
    import dataclasses

    from a2wsgi import WSGIMiddleware

    from handlers.teams import create_app
    from handlers.web.app import web_app
    from tests.handlers.teams.world import Org, teams_runtime

    runtime = teams_runtime(teams_settings, engine, clock)
    asgi = create_app(runtime, fallback=WSGIMiddleware(web_app(runtime, {}), workers=2))
    served = serve(asgi)
    runtime.settings = dataclasses.replace(runtime.settings, public_url=served.url)
    yield Org(cloud, served.url, runtime, asgi.state.teams_app)
    served.stop()
    runtime.shutdown()
