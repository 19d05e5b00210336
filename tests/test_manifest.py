"""The Slack app manifest creates an app that can do everything the bot does."""

import re
from pathlib import Path

import yaml

from handlers.slack.double import MANIFEST_SCOPES

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


# Each Web API method the bot calls, with the bot scopes it needs (Slack's method pages,
# https://docs.slack.dev/reference/methods/<method>, "Required scopes").
METHOD_SCOPES = {
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_update": {"chat:write"},
    "files_upload_v2": {"files:write"},
    # The translator's Welsh .docx: files.info, and its url_private_download read with the
    # bot token (https://docs.slack.dev/messaging/working-with-files#downloading).
    "files_info": {"files:read"},
    "reactions_add": {"reactions:write"},
    "users_info": {"users:read"},
    # A draft's channel may be public, private, a DM or a group DM (to refuse it).
    "conversations_info": {"channels:read", "groups:read", "im:read", "mpim:read"},
    # The outbox looks for a message's key before sending again, in the conversations the
    # bot posts to: channels, private channels and DMs (never group DMs: no drafts there).
    "conversations_history": {"channels:history", "groups:history", "im:history"},
    "conversations_replies": {"channels:history", "groups:history", "im:history"},
    # A reminder by DM is looked up in the DM the user id opens.
    "conversations_open": {"im:write"},
    "views_open": set(),
    "views_publish": set(),
}
# Events the bot subscribes to, with the scopes they need
# (https://docs.slack.dev/reference/events/<event>).
EVENT_SCOPES = {
    "app_home_opened": set(),
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
}


def called_methods() -> set[str]:
    """The Web API methods the bot's code calls (`client.chat_postMessage(...)` and so on)."""
    root = Path(__file__).parent.parent
    found: set[str] = set()
    for path in [*root.glob("bot/**/*.py"), *root.glob("handlers/**/*.py")]:
        if path.name in {"double.py", "shell.py"}:
            continue
        found |= set(
            re.findall(
                r"client\.((?:chat|files|reactions|users|conversations|views)_\w+)\(",
                path.read_text(),
            )
        )
    return found


def test_scopes_are_exactly_what_the_bot_uses():
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    methods = called_methods()
    assert methods <= set(METHOD_SCOPES), f"scopes unknown for {methods - set(METHOD_SCOPES)}"
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    needed = {"commands"}  # /ciw
    # Reminders and announcements go to the public channel an activity was logged from,
    # which the bot may never have joined.
    needed.add("chat:write.public")
    for method in methods:
        needed |= METHOD_SCOPES[method]
    for event in events:
        needed |= EVENT_SCOPES[event]
    assert scopes == needed, f"unused: {scopes - needed}; missing: {needed - scopes}"
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True


def test_the_slack_double_grants_the_manifests_scopes():
    # The shell's and the tests' Slack grants the token what the manifest asks for.
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == MANIFEST_SCOPES


def test_no_group_dm_messages_so_no_drafts_there():
    # Drafts are refused in group DMs (tests/handlers/test_draft_letter.py) because the
    # bot never hears their thread replies; subscribing would need message.mpim too.
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert "message.mpim" not in events
    assert "mpim:history" not in MANIFEST["oauth_config"]["scopes"]["bot"]


def test_the_header_comment_matches_the_socket_mode_setting():
    text = (Path(__file__).parent.parent / "manifest.yml").read_text()
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    assert MANIFEST["settings"]["socket_mode_enabled"] is False
    assert "keep\n# socket_mode_enabled: true" not in header and "keep socket_mode" not in header
    assert "set\n# socket_mode_enabled: true" in header
