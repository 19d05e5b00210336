"""Slack as the core sees it: the runtime's `Platform` for Slack (`bot.runtime.Platform`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.runtime import Runtime
from handlers.slack import deliveries, draft_posts
from handlers.slack.client import NAME, make_client


class SlackPlatform:
    """Slack's sender and drafts for the core, around the process's Web API client."""

    name = NAME

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def send_due(self, runtime: Runtime, now: dt.datetime, *, kinds: Any = None) -> Any:
        """Send Slack's rows due by `now` (`handlers.slack.deliveries.send_due`)."""
        return deliveries.send_due(runtime, now, kinds=kinds)

    def kick(self, runtime: Runtime) -> None:
        """Wake the process's Slack sender."""
        deliveries.kick(runtime)

    def draft_parts(self, runtime: Runtime, session: Session, draft: Any, version: Any) -> int:
        """How many Slack messages the version's text takes."""
        return draft_posts.parts(runtime, session, draft, version)


def attach(runtime: Runtime, client: WebClient | None = None) -> SlackPlatform:
    """Serve Slack from this runtime through `client` (by default one made from the
    settings: SLACK_BOT_TOKEN, SLACK_API_URL)."""
    platform = SlackPlatform(client or make_client(runtime.settings))
    runtime.add_platform(platform)
    return platform
