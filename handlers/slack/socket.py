"""`ciw-bot socket`: the Slack app over Socket Mode, for a workspace with no public URL."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.reminders import clock
from bot.settings import Settings
from handlers.slack.app import create_app, runtime_of


def run(settings: Settings, *, with_clock: bool) -> None:
    """Connect to Slack with SLACK_APP_TOKEN and serve until stopped."""
    app = create_app(settings)
    if with_clock:
        clock.start(runtime_of(app), blocking=False)
    SocketModeHandler(app, settings.slack_app_token).start()
