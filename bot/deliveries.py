"""The Delivery ledger: messages owed to Slack, each sent exactly once."""

from __future__ import annotations

from bot.runtime import Runtime


def send_pending(runtime: Runtime) -> int:
    """Send the deliveries that are due now (announcements just made); how many were sent."""
    return 0
