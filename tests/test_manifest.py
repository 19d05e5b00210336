"""The Slack app manifest creates an app that can do everything the bot does."""

from pathlib import Path

import yaml

MANIFEST = yaml.safe_load((Path(__file__).parent.parent / "manifest.yml").read_text())


def test_ciw_command_reaches_the_app_escaped():
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/ciw"
    assert command["url"].endswith("/slack/events")
    # Mentions arrive as <@U123|name>, which is how inspectors are recognised.
    assert command["should_escape"] is True


def test_interactivity_and_events_point_at_the_app():
    settings = MANIFEST["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    events = set(settings["event_subscriptions"]["bot_events"])
    # Thread replies on drafts (private and public channels, DMs) and the Home tab.
    assert {"app_home_opened", "message.groups", "message.channels", "message.im"} <= events
    assert "socket_mode_enabled" in settings


def test_scopes_cover_the_web_api_methods_the_bot_calls():
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    needed = {
        "commands",  # /ciw
        "chat:write",  # replies, drafts, reminders, chat.update
        "im:write",  # reminders by direct message
        "files:write",  # the .docx of each draft
        "files:read",  # the translator's Welsh .docx (url_private_download, files.info)
        "reactions:write",  # acknowledging review comments
        "users:read",  # refusing guest accounts
        "channels:read",  # refusing drafts in public channels
        "groups:read",
        "groups:history",  # thread replies in private channels
    }
    assert needed <= scopes
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
