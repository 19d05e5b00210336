"""What the handlers' tests share: the fake Teams cloud over HTTPS, and `serve`'s one-port
composition (Slack and Teams on uvicorn) on loopback."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from bot.settings import Settings
from handlers.serve import Served, compose
from handlers.slack.client import make_client
from handlers.slack.double import FakeSlack
from tests.conftest import TIME, Workspace, quick_retries
from tests.handlers.teams.double import FakeTeams, fake_teams


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTeams]:
    """The fake Teams cloud over HTTPS; its CA trusted through SSL_CERT_FILE and
    REQUESTS_CA_BUNDLE, as a sovereign-cloud or proxied install would trust its own."""
    with fake_teams(tls=True, clock=TIME) as double:
        assert double.ca_file
        monkeypatch.setenv("SSL_CERT_FILE", double.ca_file)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", double.ca_file)
        yield double
        # Whatever real Teams would have refused fails the test, even when the bot swallowed it.
        refused = "\n".join(str(r) for r in double.refusals)
        assert not double.refusals, f"Teams would refuse what the bot sent:\n{refused}"


@pytest.fixture
def one_port(settings: Settings, engine, clock, slack: FakeSlack, cloud: FakeTeams) -> Iterator:
    """`serve`'s composition with Slack and Teams, on uvicorn in a thread: the composed
    apps, and the Slack workspace posting to it."""
    teams = Settings.from_env(
        {
            "TEAMS_APP_ID": cloud.app_id,
            "TEAMS_APP_PASSWORD": cloud.app_password,
            "TEAMS_TENANT_ID": cloud.tenant_id,
            "TEAMS_OPENID_METADATA_URL": cloud.openid_metadata_url,
            "TEAMS_LOGIN_URL": cloud.login_url,
        }
    )
    both = dataclasses.replace(
        settings, **{k: v for k, v in vars(teams).items() if k.startswith("teams_")}
    )
    client = quick_retries(make_client(both, timeout=5))
    composed = compose(both, client=client, engine=engine, clock=clock)
    served = Served(composed.asgi).start()
    yield composed, Workspace(served.url, slack, composed.runtime)
    served.stop()  # its lifespan's end shuts the runtime down
