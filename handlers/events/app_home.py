"""The App Home tab: each inspector's upcoming activities and drafts waiting for them."""

from __future__ import annotations

from slack_bolt import App


def register(app: App) -> None:
    """Register this module's listeners."""
