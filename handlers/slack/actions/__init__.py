"""Slack actions: one module per action, each with `register(app)`."""

from __future__ import annotations

from slack_bolt import App

from handlers.slack.actions import draft_review, reminder_buttons, welsh_review

MODULES = [draft_review, reminder_buttons, welsh_review]


def register(app: App) -> None:
    """Register every action listener."""
    for module in MODULES:
        module.register(app)
