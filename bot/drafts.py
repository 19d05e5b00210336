"""Draft letters and their review: versions, approvals, change requests, comments."""

from __future__ import annotations

from bot.runtime import Runtime


def post_pending(runtime: Runtime) -> int:
    """Post draft versions that Slack could not take when they were made; how many went."""
    return 0
