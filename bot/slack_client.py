"""The Slack Web API client: pointed at SLACK_API_URL, retrying Slack's transient failures."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import Settings


def retry_handlers(max_retries: int = 3) -> list:
    """Retry 429 (after Retry-After), 5xx and connection errors with backoff."""
    return [
        RateLimitErrorRetryHandler(max_retry_count=max_retries),
        ServerErrorRetryHandler(max_retry_count=max_retries),
        ConnectionErrorRetryHandler(max_retry_count=max_retries),
    ]


def make_client(settings: Settings, *, timeout: int = 15) -> WebClient:
    """A WebClient for the bot token and API URL of these settings."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=retry_handlers(),
    )
