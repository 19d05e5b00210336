"""Slack adapters: parse what Slack sends, call the domain in `bot/`, render and reply."""

from __future__ import annotations

from slack_bolt import App

from handlers import actions, commands, events, middleware, views


def register(app: App) -> None:
    """Register every listener of the bot on the app."""
    middleware.register(app)
    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)
