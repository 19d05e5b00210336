"""The chat platforms' adapters, loaded by name.

The core never imports a platform: the command line (the one place that composes a
process) names the adapters of the configured platforms here, as Errbot names its
backends, and `importlib` loads them. Each adapter module has `attach(runtime)`, which
registers its `bot.runtime.Platform` on the runtime.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from bot.runtime import Runtime
from bot.settings import Settings, SettingsError

# Platform name → the module whose `attach(runtime)` serves it.
ADAPTERS = {"slack": "handlers.slack.platform", "teams": "handlers.teams.platform"}


def configured(settings: Settings) -> list[str]:
    """The platforms these settings turn on: Slack with SLACK_BOT_TOKEN, Teams with TEAMS_APP_ID."""
    names = []
    if settings.slack_bot_token:
        names.append("slack")
    if settings.teams_enabled:
        names.append("teams")
    return names


def load(name: str) -> ModuleType:
    """An adapter's module, by the name of a module under `handlers`."""
    if not name.startswith("handlers."):
        raise ValueError(f"not an adapter module: {name}")
    return importlib.import_module(name)


def require_configured(settings: Settings) -> list[str]:
    """The configured platforms; none is an error naming the settings to set."""
    names = configured(settings)
    if not names:
        raise SettingsError(
            "no chat platform is configured: set SLACK_BOT_TOKEN (Slack) or "
            "TEAMS_APP_ID, TEAMS_APP_PASSWORD and TEAMS_TENANT_ID (Teams)"
        )
    return names


def attach_configured(runtime: Runtime) -> list[str]:
    """Serve every configured platform from `runtime`; their names."""
    names = require_configured(runtime.settings)
    for name in names:
        load(ADAPTERS[name]).attach(runtime)
    return names
