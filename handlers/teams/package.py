"""The Teams app package `ciw-bot teams-package` writes: manifest.json and its two icons.

The manifest follows Microsoft's manifest schema reference
(https://learn.microsoft.com/microsoftteams/platform/resources/schema/manifest-schema);
`LIMITS` holds the documented constraints the tests check it against. The command menu
lists the `/ciw` subcommands, each described by the first line of its module's docstring
(the same text `/ciw help` shows), in both the personal and the team scope.
"""

from __future__ import annotations

import io
import json
import struct
import urllib.parse
import zipfile
import zlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bot.settings import Settings

MANIFEST_VERSION = "1.17"
SCHEMA = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
SCOPES = ["personal", "team"]
WEBSITE = "https://www.careinspectorate.wales/"
ACCENT = "#00607A"  # the color icon's background

# The subcommands in the menu, in the order people reach for them: the menu holds at most
# ten (LIMITS), and `help` lists the rest.
MENU = (
    "help",
    "log-activity",
    "log-finding",
    "list",
    "upcoming",
    "draft-letter",
    "note",
    "reschedule",
    "edit",
    "calendar",
)

# Documented constraints (manifest schema reference: "developer", "name", "description",
# "icons", "bots", "bots.commandLists", "bots.commandLists.commands"). The reference gives
# a command's title as both 32 characters (in bots.commandLists) and 12 (in its own
# table): the stricter is held.
LIMITS = {
    "developer.name": 32,
    "name.short": 30,
    "name.full": 100,
    "description.short": 80,
    "description.full": 4000,
    "bots.botId": 64,
    "commandLists": 2,
    "commands": 10,
    "command.title": 12,
    "command.description": 128,
}
COLOR_ICON = ("color.png", 192)
OUTLINE_ICON = ("outline.png", 32)


def _app_version() -> str:
    try:
        return version("ciw-bot")
    except PackageNotFoundError:
        return "0.1.0"


def _summary(module: Any) -> str:
    """A subcommand's line for the menu, from its docstring's first line (what `/ciw help`
    shows): its syntax and what it does when that fits, else what it does; no backticks."""
    first = (module.__doc__ or "").strip().splitlines()[0].replace("`", "")
    syntax, _, said = first.partition(": ")
    limit = LIMITS["command.description"]
    if len(first) <= limit:
        return first
    text = said or syntax
    sentence = text.split(". ")[0].rstrip(".") + "."
    text = sentence if len(sentence) <= limit else text
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def commands() -> list[dict[str, str]]:
    """The command menu: each MENU subcommand with its description."""
    from handlers.commands import subcommands

    table = subcommands()
    return [{"title": name, "description": _summary(table[name])} for name in MENU]


def manifest(settings: Settings) -> dict[str, Any]:
    """The Teams app manifest for this installation's bot."""
    assert settings.teams_app_id
    valid_domains = []
    if settings.public_url:
        valid_domains.append(urllib.parse.urlsplit(settings.public_url).netloc)
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": _app_version(),
        "id": settings.teams_app_id,
        "developer": {
            "name": "Care Inspectorate Wales",
            "websiteUrl": WEBSITE,
            "privacyUrl": WEBSITE,
            "termsOfUseUrl": WEBSITE,
        },
        "name": {"short": "CIW", "full": "Care Inspectorate Wales inspection bot"},
        "description": {
            "short": "Record inspection work, get reminders and review the annual letter.",
            "full": (
                "Inspectors record activities and findings as they happen, with the same "
                "commands as /ciw in Slack (type them to the bot, or @mention it in a "
                "channel); the bot reminds them of scheduled activities, tells them when one "
                "moves, and assembles the annual performance review letter for review in a "
                "channel's reply chain."
            ),
        },
        "icons": {"color": COLOR_ICON[0], "outline": OUTLINE_ICON[0]},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": settings.teams_app_id,
                "scopes": SCOPES,
                "isNotificationOnly": False,
                # The translator sends the Welsh .docx to the bot in its personal chat:
                # without this Teams hands a bot no file at all
                # (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/bots-filesv4).
                "supportsFiles": True,
                "commandLists": [{"scopes": SCOPES, "commands": commands()}],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": valid_domains,
        # Replies in a draft's reply chain are its review comments: without this
        # resource-specific permission Teams delivers only the channel messages that
        # @mention the bot (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/channel-messages-with-rsc).
        # RSC needs the app registration named in webApplicationInfo.
        "webApplicationInfo": {"id": settings.teams_app_id},
        "authorization": {
            "permissions": {
                "resourceSpecific": [{"name": "ChannelMessage.Read.Group", "type": "Application"}]
            }
        },
    }


def _png(size: int, pixel: Any) -> bytes:
    """An RGBA PNG of `size`×`size` whose pixels `pixel(x, y)` gives (RFC 2083)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size)
    )
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _ring(x: int, y: int, size: int) -> bool:
    """A "C": a ring open to the right, the mark both icons draw."""
    centre = (size - 1) / 2
    dx, dy = x - centre, y - centre
    radius = (dx * dx + dy * dy) ** 0.5
    opening = dx > 0 and abs(dy) < size * 0.18
    return size * 0.22 <= radius <= size * 0.36 and not opening


def color_icon() -> bytes:
    """192×192, full color: a white C on the accent color."""
    size = COLOR_ICON[1]
    background = (*(int(ACCENT[i : i + 2], 16) for i in (1, 3, 5)), 255)
    return _png(size, lambda x, y: (255, 255, 255, 255) if _ring(x, y, size) else background)


def outline_icon() -> bytes:
    """32×32, white on transparent, as Teams wants the outline icon."""
    size = OUTLINE_ICON[1]
    return _png(size, lambda x, y: (255, 255, 255, 255) if _ring(x, y, size) else (0, 0, 0, 0))


def write_package(settings: Settings, out: str | Path) -> Path:
    """Write the package (manifest.json, color.png, outline.png at the zip's root)."""
    path = Path(out)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest(settings), indent=2))
        package.writestr(COLOR_ICON[0], color_icon())
        package.writestr(OUTLINE_ICON[0], outline_icon())
    path.write_bytes(buffer.getvalue())
    return path
