"""The Teams side of `serve`: the SDK's App on FastAPI, behind the tenant gate.

`create_teams_app(settings)` builds a `microsoft_teams.apps.App` whose messaging endpoint
`POST /api/messages` the SDK guards (the Bot Connector's JWT, validated against the
cloud's signing keys for TEAMS_APP_ID, its `serviceurl` claim equal to the activity's);
before the SDK sees a request, `TenantGate` turns away activities from any tenant but
TEAMS_TENANT_ID and bodies that are not an activity. Both answer 401/400 with nothing
processed. The SDK's token validator is replaced by `handlers.teams.keys`' (the same
checks, the signing keys fetched off the event loop and cached).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from microsoft_teams.apps import App, FastAPIAdapter
from microsoft_teams.apps.http.adapter import HttpMethod, HttpRequest, HttpRouteHandler

from bot import logging_setup
from bot.settings import Settings
from handlers.teams.cloud import teams_cloud
from handlers.teams.keys import ConnectorTokenValidator, SigningKeys, install, jwks_uri
from handlers.teams.token import BotToken

log = logging.getLogger("ciw.teams")

MESSAGING_ENDPOINT = "/api/messages"


def activity_tenant(activity: dict[str, Any]) -> str | None:
    """The tenant an activity says it comes from; None when its two places disagree."""
    channel_data = activity.get("channelData")
    conversation = activity.get("conversation")
    from_channel = (
        ((channel_data.get("tenant") or {}).get("id")) if isinstance(channel_data, dict) else None
    )
    from_conversation = conversation.get("tenantId") if isinstance(conversation, dict) else None
    found = {t for t in (from_channel, from_conversation) if t}
    return found.pop() if len(found) == 1 else None


class TenantGate(FastAPIAdapter):
    """The SDK's FastAPI adapter, with the request checked before the SDK's handler runs:
    a JSON object (else 400, where the stock adapter would answer 500) from TEAMS_TENANT_ID
    (else 401). The SDK's handler then validates the token."""

    def __init__(self, tenant_id: str, app: FastAPI | None = None) -> None:
        super().__init__(app)
        self.tenant_id = tenant_id

    def register_route(self, method: HttpMethod, path: str, handler: HttpRouteHandler) -> None:
        """Register `handler` on the FastAPI app behind the gate (POST only, as the SDK's)."""
        if method != "POST":
            raise ValueError(f"Unsupported HTTP method: {method}")
        gate = self

        async def gated(request: Request) -> Response:
            try:
                body = json.loads(await request.body())
            except (ValueError, RecursionError):  # not JSON; nested too deep to parse
                body = None
            if not isinstance(body, dict):
                return JSONResponse({"error": "the body is not an activity"}, status_code=400)
            tenant = activity_tenant(body)
            if tenant != gate.tenant_id:
                shown = logging_setup.shaped(tenant, logging_setup.GUID)
                log.warning("teams activity refused", extra={"tenant": shown})
                return JSONResponse({"error": "Unauthorized"}, status_code=401)
            result = await handler(HttpRequest(body=body, headers=dict(request.headers)))
            if result.get("body") is not None:
                return JSONResponse(content=result["body"], status_code=result["status"])
            return Response(status_code=result["status"])

        self.app.post(path)(gated)


def create_teams_app(
    settings: Settings,
    on_message: Callable[[Any], Awaitable[None]] | None = None,
    fallback: Any | None = None,
) -> tuple[App, FastAPI]:
    """The SDK's App for these settings, and the ASGI app that serves it.

    The App is initialised (its messaging endpoint registered) when the ASGI app starts
    (its lifespan), so serve the FastAPI app with lifespan on. `on_message` is the message
    handler (the command router will be registered here). `fallback`, an ASGI app, gets
    every other path (e.g. the Slack WSGI app through a2wsgi): it is mounted after the SDK
    has registered /api/messages, since a mount at "/" placed first would shadow it.
    """
    assert settings.teams_app_id and settings.teams_tenant_id
    cloud = teams_cloud(settings)
    # No /docs, /redoc or /openapi.json: nothing but the messaging endpoint (and the
    # fallback) is served.
    adapter = TenantGate(
        settings.teams_tenant_id, FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    )
    app = App(
        client_id=settings.teams_app_id,
        tenant_id=settings.teams_tenant_id,
        token=BotToken(settings, cloud),
        cloud=cloud,
        http_server_adapter=adapter,
        messaging_endpoint=MESSAGING_ENDPOINT,
        # Explicit, so the SDK's own environment variables (CLIENT_ID, CLOUD,
        # DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS…) can never loosen these.
        dangerously_allow_unauthenticated_requests=False,
    )
    if on_message is not None:
        app.on_message(on_message)
    keys = SigningKeys(jwks_uri(cloud))
    adapter.app.state.signing_keys = keys

    @asynccontextmanager
    async def initialise(_: Any):
        await app.initialize()
        install(app, ConnectorTokenValidator(settings.teams_app_id, cloud, keys))
        keys.start()  # the first fetch, in the background
        if fallback is not None:
            adapter.app.mount("/", fallback)
        yield

    adapter.lifespans.append(initialise)
    return app, adapter.app
