"""Modals (Slack views): one module per form, each with `register(app)`."""

from __future__ import annotations

from slack_bolt import App

from handlers.slack.views import activity_form, change_request, finding_form

MODULES = [activity_form, finding_form, change_request]


def register(app: App) -> None:
    """Register every view listener."""
    for module in MODULES:
        module.register(app)
