"""The modal asking a reviewer why they request changes."""

from __future__ import annotations

from slack_bolt import App


def register(app: App) -> None:
    """Register this module's listeners."""
