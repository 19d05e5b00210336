"""Global middleware: run before every listener."""

from __future__ import annotations

from slack_bolt import App


def register(app: App) -> None:
    """Register the global middleware (event de-duplication, guests refused, …)."""
