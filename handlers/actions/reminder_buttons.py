"""Reminder buttons: Done, Snooze, open in /ciw list."""

from __future__ import annotations

from slack_bolt import App


def register(app: App) -> None:
    """Register this module's listeners."""
