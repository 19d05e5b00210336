"""Which Microsoft cloud the bot lives in: the settings mapped onto the SDK's CloudEnvironment."""

from __future__ import annotations

from microsoft_teams.api.auth.cloud_environment import CloudEnvironment, from_name, with_overrides

from bot.settings import Settings


def teams_cloud(settings: Settings) -> CloudEnvironment:
    """TEAMS_CLOUD's endpoints, with TEAMS_OPENID_METADATA_URL and TEAMS_LOGIN_URL over them.

    The SDK takes its token-signing keys from the metadata URL (its "/openidconfiguration"
    replaced by "/keys"), the issuer it accepts from `token_issuer` (kept: the Bot Connector
    signs as its cloud's issuer wherever the keys are served from), and the bot's own token
    from `login_endpoint`/<tenant>.
    """
    return with_overrides(
        from_name(settings.teams_cloud),
        openid_metadata_url=settings.teams_openid_metadata_url,
        login_endpoint=settings.teams_login_url,
    )
