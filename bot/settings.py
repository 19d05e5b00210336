"""Settings read once from the environment into a typed, frozen object."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.letters.template import TemplateError, load_template

DEFAULT_DATABASE_URL = "sqlite:///ciw.db"
SLACK_PUBLIC_API_URL = "https://slack.com/api/"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _user_ids(value: str | None) -> frozenset[str]:
    return frozenset(
        part.strip() for part in (value or "").replace(" ", ",").split(",") if part.strip()
    )


def _public_url(value: str | None) -> str | None:
    """PUBLIC_URL without its trailing "/"; SettingsError unless it is an http(s) address."""
    if value is None:
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(
            f"PUBLIC_URL must be the http(s) address people reach the bot at "
            f"(e.g. https://ciw-bot.example.org), not {value!r}"
        )
    return value.rstrip("/")


# The Teams SDK's cloud environments (microsoft_teams.api.auth.cloud_environment), by the
# names TEAMS_CLOUD takes.
TEAMS_CLOUDS = ("public", "usgov", "usgovdod", "china")


def _endpoint(
    name: str, value: str | None, must_end: str = "", loopback_http: bool = True
) -> str | None:
    """An endpoint override without its trailing "/"; SettingsError unless it is https
    (http only on loopback, for tests, where allowed) and ends as the SDK needs it to."""
    if value is None:
        return None
    parts = urllib.parse.urlsplit(value)
    loopback = loopback_http and parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if (
        not parts.hostname
        or parts.query
        or parts.fragment
        or not (parts.scheme == "https" or (parts.scheme == "http" and loopback))
        or not value.rstrip("/").endswith(must_end)
    ):
        example = {
            "TEAMS_OPENID_METADATA_URL": "https://login.botframework.com/v1/.well-known/"
            "openidconfiguration",
            "TEAMS_LOGIN_URL": "https://login.microsoftonline.com",
        }[name]
        ending = f" ending in {must_end}" if must_end else ""
        raise SettingsError(
            f"{name} must be an https address{ending} like {example}, not {value!r}"
        )
    return value.rstrip("/")


def _teams(text: Callable[[str], str | None]) -> dict[str, Any]:
    """The Teams settings, checked together: all of them once TEAMS_APP_ID is set."""
    app_id = text("TEAMS_APP_ID")
    cloud = (text("TEAMS_CLOUD") or "public").lower()
    if cloud not in TEAMS_CLOUDS:
        raise SettingsError(
            f"TEAMS_CLOUD must be one of {', '.join(TEAMS_CLOUDS)}, not {text('TEAMS_CLOUD')!r}"
        )
    values = {
        "teams_app_id": app_id,
        "teams_app_password": text("TEAMS_APP_PASSWORD"),
        "teams_tenant_id": text("TEAMS_TENANT_ID"),
        "teams_cloud": cloud,
        # The SDK finds the signing keys by replacing the metadata URL's last segment
        # "/openidconfiguration" with "/keys" (TokenValidator.for_service), so a
        # metadata URL ending otherwise would never find them.
        "teams_openid_metadata_url": _endpoint(
            "TEAMS_OPENID_METADATA_URL",
            text("TEAMS_OPENID_METADATA_URL"),
            "/openidconfiguration",
        ),
        # MSAL, which asks the login for the bot's token, takes only https authorities.
        "teams_login_url": _endpoint(
            "TEAMS_LOGIN_URL", text("TEAMS_LOGIN_URL"), loopback_http=False
        ),
    }
    if app_id is not None:
        for name in ("TEAMS_APP_PASSWORD", "TEAMS_TENANT_ID"):
            if values[name.lower()] is None:
                raise SettingsError(
                    f"{name} is not set (TEAMS_APP_ID is): see .env.example for what it should hold"
                )
    return values


@dataclass(frozen=True)
class Settings:
    """Everything the program reads from its environment."""

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = SLACK_PUBLIC_API_URL
    slack_team_id: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Europe/London"
    allow_public_drafts: bool = False
    port: int = 3000
    required_approvals: int = 1
    admins: frozenset[str] = field(default_factory=frozenset)
    signatory_name: str = "Lou Bushell-Bauers"
    signatory_title: str = "Head of Local Authority Inspection Team"
    letter_cc: tuple[str, ...] = ("Audit Wales", "HIW", "Estyn")
    public_url: str | None = None  # where people reach `serve`, without a trailing "/"
    letter_template: str | None = None  # the Word template's path; None: the shipped one
    teams_app_id: str | None = None  # the Azure Bot's Entra app id; None: Teams off
    teams_app_password: str | None = field(default=None, repr=False)  # a secret
    teams_tenant_id: str | None = None
    teams_cloud: str = "public"  # one of TEAMS_CLOUDS
    teams_openid_metadata_url: str | None = None  # None: the cloud's own
    teams_login_url: str | None = None  # None: the cloud's own
    metrics_token: str | None = field(default=None, repr=False)  # a secret; None: no /metrics

    @property
    def teams_enabled(self) -> bool:
        """Whether Teams is configured (TEAMS_APP_ID set)."""
        return self.teams_app_id is not None

    @property
    def tz(self) -> ZoneInfo:
        """The office time zone."""
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every setting; raise SettingsError naming a malformed one."""
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def number(name: str, default: int, minimum: int) -> int:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
            if value < minimum:
                raise SettingsError(f"{name} must be at least {minimum}, not {value}")
            return value

        timezone = text("CIW_TIMEZONE") or "Europe/London"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"CIW_TIMEZONE {timezone!r} is not a time zone name (e.g. Europe/London)"
            ) from None
        api_url = text("SLACK_API_URL") or SLACK_PUBLIC_API_URL
        if not api_url.endswith("/"):
            api_url += "/"
        cc = text("CIW_LETTER_CC")
        public_url = _public_url(text("PUBLIC_URL"))
        letter_template = text("CIW_LETTER_TEMPLATE")
        # Read and checked now, so a missing or unusable template stops the start, not a
        # draft.
        try:
            load_template(letter_template)
        except TemplateError as error:
            raise SettingsError(f"CIW_LETTER_TEMPLATE {error}") from None
        return cls(
            slack_bot_token=text("SLACK_BOT_TOKEN"),
            slack_signing_secret=text("SLACK_SIGNING_SECRET"),
            slack_app_token=text("SLACK_APP_TOKEN"),
            slack_api_url=api_url,
            slack_team_id=text("SLACK_TEAM_ID"),
            database_url=text("DATABASE_URL") or DEFAULT_DATABASE_URL,
            timezone=timezone,
            allow_public_drafts=_flag(env.get("CIW_ALLOW_PUBLIC_DRAFTS")),
            port=number("PORT", 3000, 1),
            required_approvals=number("CIW_REQUIRED_APPROVALS", 1, 1),
            admins=_user_ids(env.get("CIW_ADMINS")),
            signatory_name=text("CIW_SIGNATORY_NAME") or cls.signatory_name,
            signatory_title=text("CIW_SIGNATORY_TITLE") or cls.signatory_title,
            letter_cc=tuple(p.strip() for p in cc.split(";") if p.strip()) if cc else cls.letter_cc,
            public_url=public_url,
            letter_template=letter_template,
            metrics_token=text("CIW_METRICS_TOKEN"),
            **_teams(text),
        )

    def require(self, *names: str) -> None:
        """Raise SettingsError naming the first of these environment variables that is unset."""
        attributes = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token,
            "TEAMS_APP_ID": self.teams_app_id,
        }
        for name in names:
            if not attributes[name]:
                raise SettingsError(f"{name} is not set: see .env.example for what it should hold")
