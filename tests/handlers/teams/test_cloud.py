import pytest
from microsoft_teams.api.auth import cloud_environment as sdk

from bot.settings import Settings, SettingsError
from handlers.teams.cloud import teams_cloud

TEAMS = {"TEAMS_APP_ID": "app-1", "TEAMS_APP_PASSWORD": "p4ss-w0rd", "TEAMS_TENANT_ID": "tenant-1"}


@pytest.mark.parametrize(
    ("name", "login", "metadata", "issuer"),
    [
        (
            "public",
            "https://login.microsoftonline.com",
            "https://login.botframework.com/v1/.well-known/openidconfiguration",
            "https://api.botframework.com",
        ),
        (
            "usgov",
            "https://login.microsoftonline.us",
            "https://login.botframework.azure.us/v1/.well-known/openidconfiguration",
            "https://api.botframework.us",
        ),
        (
            "usgovdod",
            "https://login.microsoftonline.us",
            "https://login.botframework.azure.us/v1/.well-known/openidconfiguration",
            "https://api.botframework.us",
        ),
        (
            "china",
            "https://login.partner.microsoftonline.cn",
            "https://login.botframework.azure.cn/v1/.well-known/openidconfiguration",
            "https://api.botframework.azure.cn",
        ),
    ],
)
def test_each_cloud_maps_to_its_endpoints(name, login, metadata, issuer):
    cloud = teams_cloud(Settings.from_env({**TEAMS, "TEAMS_CLOUD": name.upper()}))
    assert (cloud.login_endpoint, cloud.openid_metadata_url, cloud.token_issuer) == (
        login,
        metadata,
        issuer,
    )


def test_usgovdod_differs_from_usgov_in_its_token_service():
    gov = teams_cloud(Settings.from_env({**TEAMS, "TEAMS_CLOUD": "usgov"}))
    dod = teams_cloud(Settings.from_env({**TEAMS, "TEAMS_CLOUD": "usgovdod"}))
    assert gov.token_service_url != dod.token_service_url
    assert dod == sdk.US_GOV_DOD


def test_default_is_the_public_cloud():
    assert teams_cloud(Settings.from_env(TEAMS)) is sdk.PUBLIC


def test_overrides_replace_only_their_endpoints():
    cloud = teams_cloud(
        Settings.from_env(
            {
                **TEAMS,
                "TEAMS_CLOUD": "usgov",
                "TEAMS_OPENID_METADATA_URL": "https://keys.gov.example/v1/openidconfiguration/",
                "TEAMS_LOGIN_URL": "https://login.gov.example/",
            }
        )
    )
    assert cloud.openid_metadata_url == "https://keys.gov.example/v1/openidconfiguration"
    assert cloud.login_endpoint == "https://login.gov.example"
    # The rest stays the cloud's: the issuer the Bot Connector signs as, the scopes.
    assert cloud.token_issuer == sdk.US_GOV.token_issuer
    assert cloud.bot_scope == sdk.US_GOV.bot_scope


def test_the_password_is_kept_out_of_the_settings_repr():
    assert "p4ss-w0rd" not in repr(Settings.from_env(TEAMS))


def test_teams_is_off_without_an_app_id():
    settings = Settings.from_env({})
    assert settings.teams_enabled is False
    assert Settings.from_env(TEAMS).teams_enabled is True


@pytest.mark.parametrize("missing", ["TEAMS_APP_PASSWORD", "TEAMS_TENANT_ID"])
def test_teams_settings_are_required_together(missing):
    env = {k: v for k, v in TEAMS.items() if k != missing}
    with pytest.raises(SettingsError, match=f"^{missing} is not set"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TEAMS_CLOUD": "azure"}, "TEAMS_CLOUD"),
        ({"TEAMS_LOGIN_URL": "login.microsoftonline.com"}, "TEAMS_LOGIN_URL"),
        ({"TEAMS_LOGIN_URL": "http://login.example.org"}, "TEAMS_LOGIN_URL"),
        # MSAL refuses an http authority, loopback or not.
        ({"TEAMS_LOGIN_URL": "http://127.0.0.1:8080"}, "TEAMS_LOGIN_URL"),
        (
            {"TEAMS_OPENID_METADATA_URL": "https://keys.example/v1/keys"},
            "TEAMS_OPENID_METADATA_URL",
        ),
    ],
)
def test_malformed_teams_setting_is_named_in_one_line(env, named):
    with pytest.raises(SettingsError, match=f"^{named}") as raised:
        Settings.from_env({**TEAMS, **env})
    assert "\n" not in str(raised.value)


def test_cli_stops_with_one_line_naming_the_missing_teams_setting(monkeypatch, capsys):
    from bot.cli import main

    for name in ("TEAMS_APP_PASSWORD", "TEAMS_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEAMS_APP_ID", "app-1")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == "ciw-bot: TEAMS_APP_PASSWORD is not set (TEAMS_APP_ID is): see .env.example "
        "for what it should hold"
    )
