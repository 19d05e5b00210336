"""Teams adapters, on Microsoft's Teams SDK for Python (`microsoft-teams-apps`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.runtime import Runtime


def create_app(runtime: Runtime, *, fallback: Any | None = None) -> FastAPI:
    """The Teams side of `ciw-bot serve` for this runtime: an ASGI (FastAPI) app answering
    `POST /api/messages` (the tenant gate, then the SDK's validation of the Bot Connector's
    token) and handing every other path to `fallback`, an ASGI app (the WSGI routes through
    a2wsgi), mounted once the SDK has registered its endpoint. Serve it with lifespan on.

    For now no message handler is registered (activities are validated and answered 200,
    nothing else); the Teams message handlers replace this body.
    """
    from handlers.teams.app import create_teams_app

    _, asgi = create_teams_app(runtime.settings, on_message=None, fallback=fallback)
    return asgi
