"""The Bot Connector's token-signing keys, fetched off the event loop and cached, and the
inbound token validator that takes its keys from them in place of the Teams SDK's.

The SDK validates each inbound activity's token with `jwt.PyJWKClient`, called synchronously
inside its async request handler: the first request, each one after its five-minute cache
lapses, and a token naming a key id it has not seen (once per 30 s) fetch the keys on the
event loop, and every request on the port (Slack's acks, /healthz) waits for that fetch.
Here the keys are:

- fetched on a thread of their own, never on the loop: once at startup (in the background),
  then in the background again when a day old (Microsoft asks bots to check the keys at
  least daily), the cached keys serving meanwhile;
- fetched once at a time (single flight): a request that needs a fetch under way awaits it
  (on the loop, costing the others nothing) at most `timeout` seconds;
- fetched for a key id they do not hold at most once per `forced_interval` (5 minutes): in
  between, a token naming an unknown key is refused at once, without a fetch. Microsoft
  publishes a new key well before signing with it, so the daily refresh normally has it;
  a key it has not has one fetch to appear.

`ConnectorTokenValidator` checks what the SDK's `TokenValidator.for_service` checks (RS256,
the cloud's issuer, the bot's three audiences, exp/iat with 300 s leeway, the `serviceurl`
claim equal to the activity's `serviceUrl`) with the key from `SigningKeys`;
`install(app, validator)` puts it where the SDK's HttpServer looks for its validator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
from jwt import PyJWK
from microsoft_teams.api.auth.cloud_environment import CloudEnvironment

log = logging.getLogger("ciw.teams")

MAX_AGE_S = 24 * 3600  # refreshed in the background once the keys are a day old
FORCED_INTERVAL_S = 300  # an unknown key id fetches the keys at most this often
RETRY_S = 30  # after a failed fetch, the next one is tried no sooner
FETCH_TIMEOUT_S = 10  # each socket operation of a fetch; and how long a request waits for one
JWT_LEEWAY_S = 300  # the SDK's clock skew (JWT_LEEWAY_SECONDS)


def jwks_uri(cloud: CloudEnvironment) -> str:
    """The keys' address as the SDK derives it: the OpenID metadata URL's trailing
    `/openidconfiguration` replaced by `/keys` (`TokenValidator.for_service`)."""
    return re.sub(r"/openidconfiguration$", "/keys", cloud.openid_metadata_url)


class SigningKeys:
    """The signing keys published at `uri`, by key id. Used from one event loop; each fetch
    runs on a daemon thread of its own (nothing on the loop waits for the network, and a
    fetch under way at shutdown holds nothing up)."""

    def __init__(
        self,
        uri: str,
        *,
        max_age: float = MAX_AGE_S,
        forced_interval: float = FORCED_INTERVAL_S,
        retry: float = RETRY_S,
        timeout: float = FETCH_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uri = uri
        self.max_age = max_age
        self.forced_interval = forced_interval
        self.retry = retry
        self.timeout = timeout
        self.clock = clock
        # PyJWKClient for the HTTP request and the parsing, as the SDK fetches (urllib, so
        # SSL_CERT_FILE applies; no redirects; only usable signing keys with an id kept);
        # its own caching off: this class is the cache.
        self._client = jwt.PyJWKClient(uri, cache_jwk_set=False, timeout=timeout)
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # of the keys held
        self._retry_at = -math.inf  # no background fetch before this (after a failure)
        self._forced_at = -math.inf  # no fetch for an unknown key id before this
        self._fetch: asyncio.Future[None] | None = None  # the fetch under way
        self.fetches = 0  # fetches started
        self.failures = 0  # fetches that brought no keys

    @property
    def ready(self) -> bool:
        """Whether keys are held (the first fetch has succeeded)."""
        return self._fetched_at is not None

    def start(self) -> None:
        """Begin the first fetch, in the background (call on the serving loop)."""
        self._begin("startup")

    async def get(self, kid: str) -> PyJWK | None:
        """The key with this id, or None: from the cache, else after at most one fetch."""
        now = self.clock()
        if self._fetch is None and now >= self._retry_at and self._stale(now):
            self._begin("stale" if self._keys else "none held")  # not waited for
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self._fetch is None:
            if now < self._forced_at:
                return None  # an unknown key already fetched for lately: refused at once
            self._forced_at = now + self.forced_interval
            self._begin("unknown key id")
        assert self._fetch is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._fetch), self.timeout)
        except TimeoutError:
            return None
        return self._keys.get(kid)

    def _stale(self, now: float) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= self.max_age

    def _begin(self, reason: str) -> None:
        """Start a fetch on a thread of its own unless one is under way."""
        if self._fetch is not None:
            return
        loop = asyncio.get_running_loop()
        self._fetch = done = loop.create_future()
        self.fetches += 1
        started = self.clock()

        def fetch() -> None:
            keys: list[PyJWK] | None = None
            error: Exception | None = None
            try:
                keys = self._client.get_signing_keys(refresh=True)
            except Exception as e:  # noqa: BLE001 - any failure keeps the cached keys, logged
                error = e
            # RuntimeError: the loop has closed, no one is waiting.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._fetched, done, reason, started, keys, error)

        threading.Thread(target=fetch, name="ciw-teams-keys", daemon=True).start()

    def _fetched(
        self,
        done: asyncio.Future[None],
        reason: str,
        started: float,
        keys: list[PyJWK] | None,
        error: Exception | None,
    ) -> None:
        """On the loop: keep what a fetch brought, and wake whoever waits for it."""
        now = self.clock()
        ms = round((now - started) * 1000, 1)
        if keys is not None:
            self._keys = {key.key_id: key for key in keys if key.key_id}
            self._fetched_at = now
            log.info(
                "teams signing keys fetched",
                extra={"reason": reason, "keys": len(self._keys), "ms": ms},
            )
        else:
            self.failures += 1
            self._retry_at = now + self.retry
            log.warning(
                "teams signing keys not fetched",
                extra={"reason": reason, "error": type(error).__name__, "ms": ms},
            )
        self._fetch = None
        if not done.done():
            done.set_result(None)


class ConnectorTokenValidator:
    """The inbound activity's token checked as the SDK's `TokenValidator.for_service(app_id,
    cloud=cloud)` checks it, with its key from `keys` (never fetched on the event loop).

    The SDK's `InboundActivityTokenValidator` also accepts Entra ID tokens (issuer the
    login endpoint or https://sts.windows.net/, from the Agent 365 platform), validated
    against a per-tenant key set fetched synchronously by a PyJWKClient of its own. This
    bot is a Bot Framework bot and receives no such tokens: any token not issued by the
    cloud's Bot Connector (`token_issuer`) is refused before a key is looked up, so no
    token can make the bot fetch anything but the Bot Connector's keys.
    """

    def __init__(self, app_id: str, cloud: CloudEnvironment, keys: SigningKeys) -> None:
        self.audiences = [app_id, f"api://{app_id}", f"api://botid-{app_id}"]
        self.issuer = cloud.token_issuer
        self.keys = keys

    async def validate_token(
        self, raw_token: str, service_url: str | None = None
    ) -> dict[str, Any]:
        """The token's claims; `jwt.InvalidTokenError` when it is not valid for this bot."""
        if not raw_token:
            raise jwt.InvalidTokenError("No token provided")
        header = jwt.get_unverified_header(raw_token)
        unverified = jwt.decode(
            raw_token, algorithms=["RS256"], options={"verify_signature": False}
        )
        if header.get("alg") != "RS256":
            raise jwt.InvalidAlgorithmError("The specified alg value is not allowed")
        if unverified.get("iss") != self.issuer:
            # Entra / Agent 365 tokens included: see the class's docstring.
            raise jwt.InvalidIssuerError("Invalid issuer")
        kid = header.get("kid")
        key = await self.keys.get(kid) if isinstance(kid, str) and kid else None
        if key is None:
            raise jwt.InvalidTokenError("No signing key matches the token's key id")
        payload: dict[str, Any] = jwt.decode(
            raw_token,
            key.key,
            algorithms=["RS256"],
            audience=self.audiences,
            issuer=[self.issuer],
            options={
                "verify_signature": True,
                "verify_aud": True,
                "verify_iss": True,
                "verify_exp": True,
                "verify_iat": True,
            },
            leeway=JWT_LEEWAY_S,
        )
        if service_url:
            # As the SDK: the claim must be there and name the activity's service URL.
            claimed = payload.get("serviceurl")
            if not isinstance(claimed, str) or not claimed:
                raise jwt.InvalidTokenError("Token missing serviceurl claim")
            if claimed.rstrip("/") != service_url.rstrip("/"):
                raise jwt.InvalidTokenError("Service URL mismatch")
        return payload


def install(app: Any, validator: ConnectorTokenValidator) -> None:
    """Make `validator` the one the SDK's HttpServer validates inbound activities with
    (after `app.initialize()`, which builds the SDK's own). Fails loudly when the SDK keeps
    it elsewhere (an SDK upgrade), rather than serving with the SDK's synchronous fetches."""
    from microsoft_teams.apps.auth import InboundActivityTokenValidator

    server = app.server
    if not isinstance(getattr(server, "_token_validator", None), InboundActivityTokenValidator):
        raise RuntimeError("the Teams SDK's inbound token validator is not where expected")
    server._token_validator = validator
