"""Teams adapters, on Microsoft's Teams SDK for Python (`microsoft-teams-apps`).

`create_app(runtime)` is what `serve` mounts: the SDK's App behind the tenant gate and the
SDK's JWT validation (`handlers.teams.app`), with every handler of what the bot receives
registered on it, in this order (the SDK runs the first handler that matches an activity,
and the next only when it passes it on):

- `conversations`: every activity's conversation reference kept (and installs, updates);
- `replies`: a reply in a draft's reply chain is a review comment;
- `welsh`: a file sent in the personal chat (a translator's Welsh .docx), and `welsh …`;
- `commands`: a message to the bot is a `/ciw` command;
- `forms`: the activity and finding dialogs (`task/fetch`, `task/submit`);
- `actions`: the cards' buttons (`adaptiveCard/action`).
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger("ciw.teams")


def create_app(runtime: Any, *, fallback: Any | None = None) -> Any:
    """The ASGI app (FastAPI) serving Teams' `POST /api/messages` for this runtime (its
    Teams platform attached); `fallback` (an ASGI app) gets every other path. The SDK's
    App is `asgi.state.teams_app`, the runtime `asgi.state.runtime`.

    Serve it with lifespan on: the App is initialised at start, and at shutdown the work
    still running after an answer is waited for."""
    from handlers.teams import actions, commands, forms, keep_references, replies, turns, welsh
    from handlers.teams.app import create_teams_app
    from handlers.teams.platform import platform_of

    # The work after each answer runs on the Teams sender's loop: attach it first
    # (`handlers.teams.platform.attach`), or fail here rather than at the first message.
    platform_of(runtime)
    app, asgi = create_teams_app(runtime.settings, fallback=fallback)

    @app.event("error")
    async def failed(event: Any) -> None:
        # The SDK answers 500 when a handler raises; what raised is logged here.
        log.error("teams activity failed", exc_info=getattr(event, "error", None))

    keep_references.register(app, runtime)
    replies.register(app, runtime)
    welsh.register(app, runtime)
    commands.register(app, runtime)
    forms.register(app, runtime)
    actions.register(app, runtime)

    @asynccontextmanager
    async def finish_work(_: Any):
        yield
        await turns.background(app).drain()

    app.server.adapter.lifespans.append(finish_work)
    asgi.state.teams_app = app
    asgi.state.runtime = runtime
    return asgi
