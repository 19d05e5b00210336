"""Slack events: one module per event, each with `register(app)`."""

from __future__ import annotations

from slack_bolt import App

from handlers.events import app_home, thread_reply

MODULES = [thread_reply, app_home]


def register(app: App) -> None:
    """Register every event listener."""
    for module in MODULES:
        module.register(app)
