import pytest

from bot.settings import Settings, SettingsError


def test_defaults_follow_the_spec():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///ciw.db"
    assert settings.timezone == "Europe/London"
    assert settings.port == 3000
    assert settings.allow_public_drafts is False
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.required_approvals == 1
    assert settings.public_url is None


def test_values_are_read_and_normalised():
    settings = Settings.from_env(
        {
            "SLACK_API_URL": "http://127.0.0.1:9999/api",
            "CIW_ALLOW_PUBLIC_DRAFTS": "1",
            "PORT": "8080",
            "CIW_ADMINS": "U1, U2",
            "CIW_LETTER_CC": "Audit Wales; Estyn",
            "PUBLIC_URL": "https://ciw-bot.example.org/",
        }
    )
    assert settings.public_url == "https://ciw-bot.example.org"
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.allow_public_drafts is True
    assert settings.port == 8080
    assert settings.admins == frozenset({"U1", "U2"})
    assert settings.letter_cc == ("Audit Wales", "Estyn")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"CIW_TIMEZONE": "Mars/Olympus"}, "CIW_TIMEZONE"),
        ({"CIW_REQUIRED_APPROVALS": "0"}, "CIW_REQUIRED_APPROVALS"),
        ({"PUBLIC_URL": "ciw-bot.example.org"}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "ftp://ciw-bot.example.org"}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "https://"}, "PUBLIC_URL"),
    ],
)
def test_malformed_setting_is_named(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_require_names_the_missing_variable():
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"})
    settings.require("SLACK_BOT_TOKEN")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
