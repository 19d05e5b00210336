"""The bot's own token for the Bot Connector: client credentials at the cloud's login."""

from __future__ import annotations

import asyncio
import threading

import msal
from microsoft_teams.api.auth.cloud_environment import CloudEnvironment

from bot.settings import Settings


class BotTokenError(Exception):
    """The login endpoint refused the bot's credentials; the message says what it answered."""


class BotToken:
    """App-only tokens from `login_endpoint/<TEAMS_TENANT_ID>` with TEAMS_APP_PASSWORD.

    Given to the SDK as its token provider (`App(token=…)`) instead of letting it build its
    own MSAL client, because the SDK's client asks Microsoft's world-wide instance
    discovery endpoint about any login host MSAL does not know: an overridden
    TEAMS_LOGIN_URL (a proxy, a test) would send the bot's first token request to
    login.microsoftonline.com. Here discovery is off when the login is overridden; MSAL
    then reads the tenant's own discovery document and keeps the token until it expires.
    """

    def __init__(self, settings: Settings, cloud: CloudEnvironment) -> None:
        assert settings.teams_app_id and settings.teams_app_password and settings.teams_tenant_id
        self._settings = settings
        self._authority = f"{cloud.login_endpoint}/{settings.teams_tenant_id}"
        self._client: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def acquire(self, scope: str) -> str:
        """An access token for `scope` (cached by MSAL until shortly before it expires)."""
        with self._lock:
            if self._client is None:
                # Built on first use: MSAL reads the tenant's discovery document as it is
                # built, and the start of `serve` must not wait on the login endpoint.
                self._client = msal.ConfidentialClientApplication(
                    self._settings.teams_app_id,
                    client_credential=self._settings.teams_app_password,
                    authority=self._authority,
                    instance_discovery=self._settings.teams_login_url is None,
                )
            result = self._client.acquire_token_for_client([scope])
        if "access_token" not in result:
            raise BotTokenError(
                f"the login endpoint refused the bot's credentials: "
                f"{result.get('error')}: {result.get('error_description')}"
            )
        return str(result["access_token"])

    async def __call__(self, scope: str, tenant_id: str | None = None) -> str:
        """The SDK's token-provider signature; MSAL blocks, so it runs in a thread."""
        return await asyncio.to_thread(self.acquire, scope)
