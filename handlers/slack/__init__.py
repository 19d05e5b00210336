"""Slack adapters: parse what Slack sends, call the domain in `bot/`, render and reply."""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    """Register every listener of the bot on the Bolt app."""
    # Imported here so that `handlers.slack.text` and friends load without the listeners.
    from handlers.slack import actions, commands, events, middleware, views

    middleware.register(app)
    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)
