"""Replies in a draft's thread: recorded as review comments."""

from __future__ import annotations

from slack_bolt import App


def register(app: App) -> None:
    """Register this module's listeners."""
