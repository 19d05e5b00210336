"""Draft review buttons: Approve, Request changes, New version."""

from __future__ import annotations

from slack_bolt import App


def register(app: App) -> None:
    """Register this module's listeners."""
