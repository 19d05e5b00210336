"""The Bot Connector's signing keys (`handlers.teams.keys`): fetched off the event loop,
cached, refreshed in the background, fetched for an unknown key id at most once per
interval. Over real HTTP on `serve`'s one port (Slack and Teams), with the keys endpoint
made slow: a token naming a key the cloud never published costs the other requests
nothing."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from handlers.serve import Composed
from handlers.teams.keys import SigningKeys, jwks_uri
from tests.handlers.teams.double import FakeTeams, Signer

QUICK = 1.0  # what "not stalled" means here: far above a normal answer


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def signing_keys(composed: Composed) -> SigningKeys:
    assert composed.asgi is not None
    return composed.asgi.app.fallback.state.signing_keys


def post_activity(base: str, cloud: FakeTeams, token: str, text: str = "help") -> int:
    """A message from Ann to the bot with this bearer token; the HTTP status."""
    ann = cloud.users.get("29:aad-ann") or cloud.add_user("aad-ann", "Ann Inspector")
    request = urllib.request.Request(
        f"{base}/api/messages",
        data=json.dumps(cloud.message_activity(text, ann)).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def forged_tokens(cloud: FakeTeams, count: int) -> list[str]:
    """Well-formed RS256 tokens for this bot, signed by a key the cloud never published,
    each naming a key id of its own."""
    signer = Signer()
    tokens = []
    for _ in range(count):
        signer.kid = uuid.uuid4().hex
        tokens.append(cloud.inbound_token(signer=signer))
    return tokens


@pytest.fixture
def ready(one_port, cloud):
    """The one-port server once its first fetch of the keys (at startup) is done."""
    composed, workspace = one_port
    keys = signing_keys(composed)
    wait_until(lambda: keys.ready)
    assert cloud.key_fetches == 1
    return composed, workspace, keys


def test_an_unknown_key_id_stalls_no_other_request(ready, cloud):
    _, workspace, keys = ready
    # Slack's routes answered once first, so what is timed below is only the wait, if any.
    # The forged token is the first Teams request: the SDK's own validator would fetch the
    # keys for it on the event loop (and, had a request fetched them in the last 30 s, not
    # at all).
    assert workspace.get("/healthz").status == 200
    assert workspace.command("help", wait=False).status == 200

    held = cloud.keys_held = threading.Event()  # the keys endpoint answers once it is set
    (forged,) = forged_tokens(cloud, 1)
    with ThreadPoolExecutor(1) as pool:
        refused = pool.submit(post_activity, workspace.base, cloud, forged)
        wait_until(lambda: cloud.key_fetches == 2)  # the fetch it forced is under way
        ack = workspace.command("help", wait=False)
        health = workspace.get("/healthz")
        teams = post_activity(workspace.base, cloud, cloud.inbound_token())
        # Answered while the keys endpoint was still holding the forged token's fetch, which
        # neither failed nor ended meanwhile: only the forged request waits for it.
        assert (ack.status, health.status, teams) == (200, 200, 200)
        assert not refused.done() and keys.failures == 0
        held.set()
        assert refused.result() == 401
    assert cloud.key_fetches == 2 and keys.fetches == 2


def test_a_burst_of_unknown_key_ids_fetches_the_keys_at_most_once(ready, cloud):
    _, workspace, keys = ready
    cloud.keys_delay = 0.5  # the burst arrives while the fetch it forced is under way
    tokens = forged_tokens(cloud, 51)
    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(lambda t: post_activity(workspace.base, cloud, t), tokens[:50]))
    assert statuses == [401] * 50
    assert cloud.key_fetches <= 2  # the startup fetch, and at most one the burst forced
    fetches = cloud.key_fetches
    # Within the interval, another unknown key id is refused at once, with no fetch.
    status, took = timed(lambda: post_activity(workspace.base, cloud, tokens[50]))
    assert status == 401 and took < QUICK, took
    assert cloud.key_fetches == fetches == keys.fetches
    # The real key still works, from the cache.
    assert post_activity(workspace.base, cloud, cloud.inbound_token()) == 200
    assert cloud.key_fetches == fetches


def test_a_rotated_key_is_fetched_once_and_accepted(ready, cloud):
    _, workspace, _ = ready
    assert post_activity(workspace.base, cloud, cloud.inbound_token()) == 200
    cloud.rotate_connector_keys()
    # The first token with the new key forces one fetch, and is accepted.
    assert post_activity(workspace.base, cloud, cloud.inbound_token()) == 200
    assert cloud.key_fetches == 2
    assert post_activity(workspace.base, cloud, cloud.inbound_token()) == 200
    # Tokens with the old key, still published, are accepted too; an unknown key id within
    # the interval fetches nothing.
    old = cloud.published_keys[1]
    assert post_activity(workspace.base, cloud, cloud.inbound_token(signer=old)) == 200
    assert post_activity(workspace.base, cloud, forged_tokens(cloud, 1)[0]) == 401
    assert cloud.key_fetches == 2


def test_entra_tokens_are_refused_without_fetching_anything(ready, cloud):
    # The SDK would validate a token whose issuer is the login endpoint (or sts.windows.net)
    # as an Agent 365 Entra token, fetching that tenant's keys on the event loop.
    _, workspace, _ = ready
    now = int(time.time())
    for issuer in (f"{cloud.login_url}/{cloud.tenant_id}/v2.0", "https://sts.windows.net/t/"):
        token = cloud.inbound_token(
            signer=Signer(),
            iss=issuer,
            tid=cloud.tenant_id,
            azp="5a807f24-c9de-44ee-a3a7-329e88a00ffc",
            iat=now,
        )
        assert post_activity(workspace.base, cloud, token) == 401
    assert cloud.key_fetches == 1
    assert not [path for path in cloud.gets if "discovery" in path]


# ----- the cache itself, against the fake cloud, on an event loop of the test's own -----


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_keys(cloud: FakeTeams, clock: Clock, **options: Any) -> SigningKeys:
    from bot.settings import Settings
    from handlers.teams.cloud import teams_cloud

    settings = Settings.from_env(
        {
            "TEAMS_APP_ID": cloud.app_id,
            "TEAMS_APP_PASSWORD": cloud.app_password,
            "TEAMS_TENANT_ID": cloud.tenant_id,
            "TEAMS_OPENID_METADATA_URL": cloud.openid_metadata_url,
        }
    )
    uri = jwks_uri(teams_cloud(settings))
    assert uri == f"{cloud.base}/v1/.well-known/keys"
    return SigningKeys(uri, clock=clock, **options)


def test_keys_a_day_old_serve_while_they_are_refreshed_in_the_background(cloud):
    clock = Clock()
    keys = make_keys(cloud, clock)
    kid = cloud.connector_keys.kid

    async def scenario() -> None:
        keys.start()
        assert (await keys.get(kid)) is not None  # waited for the startup fetch
        assert (await keys.get(kid)) is not None and cloud.key_fetches == 1
        clock.now += 24 * 3600
        held = cloud.keys_held = threading.Event()  # the refresh is held until it is set
        started = time.monotonic()
        assert (await keys.get(kid)) is not None  # the day-old key, at once
        assert time.monotonic() - started < QUICK
        assert (await keys.get(kid)) is not None
        assert keys.fetches == 2  # single flight: no second fetch while one is under way
        assert keys._fetch is not None  # the refresh is still held
        held.set()
        while keys._fetch is not None:
            await asyncio.sleep(0.01)
        assert cloud.key_fetches == 2 and keys.failures == 0

    asyncio.run(scenario())


def test_an_unknown_key_id_fetches_at_most_once_per_interval(cloud):
    clock = Clock()
    keys = make_keys(cloud, clock, forced_interval=300)

    async def scenario() -> None:
        keys.start()
        # Waited for the startup fetch (just done: nothing forced), then forced one.
        assert (await keys.get("nobody")) is None and cloud.key_fetches == 1
        assert (await keys.get("nobody-else")) is None and cloud.key_fetches == 2
        clock.now += 299
        assert (await keys.get("a-third")) is None and cloud.key_fetches == 2
        clock.now += 1
        new = cloud.rotate_connector_keys()
        assert (await keys.get(new.kid)) is not None and cloud.key_fetches == 3

    asyncio.run(scenario())


def test_a_failed_fetch_keeps_the_keys_and_is_retried_later(cloud):
    clock = Clock()
    keys = make_keys(cloud, clock, retry=30)
    kid = cloud.connector_keys.kid

    async def scenario() -> None:
        keys.start()
        assert (await keys.get(kid)) is not None
        # The endpoint breaks a day later: the refresh fails, the keys held still serve.
        keys._client.uri = f"{cloud.base}/v1/.well-known/broken"
        clock.now += 24 * 3600
        assert (await keys.get(kid)) is not None
        assert (await keys.get("unknown")) is None  # waited for the failing fetch
        assert (keys.fetches, keys.failures) == (2, 1)
        clock.now += 29
        assert (await keys.get(kid)) is not None and keys.fetches == 2  # not retried yet
        keys._client.uri = f"{cloud.base}/v1/.well-known/keys"
        clock.now += 1
        assert (await keys.get(kid)) is not None  # retried in the background
        await asyncio.sleep(0)
        while keys.fetches == 3 and keys._fetch is not None:
            await asyncio.sleep(0.01)
        assert (keys.fetches, keys.failures) == (3, 1)

    asyncio.run(scenario())


def test_a_fetch_that_never_succeeded_is_tried_again_by_the_next_request(cloud):
    clock = Clock()
    keys = make_keys(cloud, clock, retry=30)
    kid = cloud.connector_keys.kid
    keys._client.uri = f"{cloud.base}/v1/.well-known/broken"

    async def scenario() -> None:
        keys.start()
        assert (await keys.get(kid)) is None  # waited for the startup fetch, which failed
        assert not keys.ready and (keys.fetches, keys.failures) == (1, 1)
        assert (await keys.get(kid)) is None  # the one fetch an unknown key id may force
        assert (keys.fetches, keys.failures) == (2, 2)
        keys._client.uri = f"{cloud.base}/v1/.well-known/keys"
        clock.now += 29
        assert (await keys.get(kid)) is None and keys.fetches == 2  # nothing, for now
        clock.now += 1
        # Retried: holding no keys, the next request starts a fetch and waits for it.
        assert (await keys.get(kid)) is not None and keys.ready and keys.fetches == 3

    asyncio.run(scenario())
