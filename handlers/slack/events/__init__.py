"""Slack events: one module per event, each with `register(app)`."""

from __future__ import annotations

from slack_bolt import App

from handlers.slack.events import app_home, thread_reply, welsh_upload

# welsh_upload first: Bolt runs the first listener whose matchers take an event.
MODULES = [welsh_upload, thread_reply, app_home]


def register(app: App) -> None:
    """Register every event listener."""
    for module in MODULES:
        module.register(app)
