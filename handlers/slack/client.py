"""The Slack Web API client: pointed at SLACK_API_URL, retrying Slack's transient failures."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.runtime import PlatformMissing, Runtime
from bot.settings import Settings

NAME = "slack"  # the runtime's name for Slack's platform (`handlers.slack.platform`)


class AnyServerErrorRetryHandler(ServerErrorRetryHandler):
    """slack_sdk's handler retries only 500 and 503; Slack's edge also answers 502 and 504."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:  # type: ignore[no-untyped-def]
        return response is not None and 500 <= response.status_code < 600


def retry_handlers(max_retries: int = 3) -> list:
    """Retry 429 (after Retry-After), 5xx and connection errors with backoff."""
    return [
        RateLimitErrorRetryHandler(max_retry_count=max_retries),
        AnyServerErrorRetryHandler(max_retry_count=max_retries),
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


def client_of(runtime: Runtime) -> WebClient:
    """The runtime's Slack Web API client (its Slack platform's)."""
    client = getattr(runtime.platforms.get(NAME), "client", None)
    if not isinstance(client, WebClient):
        raise PlatformMissing("Slack is not configured in this process (set SLACK_BOT_TOKEN)")
    return client
