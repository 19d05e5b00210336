"""`ciw-bot teams-package`: the app package Teams admins upload.

No JSON schema for the Teams manifest ships in a package we can install (the SDK has no
manifest models), so the manifest is checked against the constraints Microsoft's manifest
schema reference documents (https://learn.microsoft.com/microsoftteams/platform/resources/schema/manifest-schema).
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib

import pytest

from bot.cli import main
from handlers.commands import subcommands

APP_ID = "0e3c1d52-6f3b-4c1a-9d38-2a8f1b7c4e10"


@pytest.fixture
def package(tmp_path, monkeypatch):
    for name, value in {
        "TEAMS_APP_ID": APP_ID,
        "TEAMS_APP_PASSWORD": "secret",
        "TEAMS_TENANT_ID": "11111111-1111-1111-1111-111111111111",
        "PUBLIC_URL": "https://ciw-bot.example.org",
    }.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "ciw-teams.zip"
    assert main(["teams-package", "--out", str(out)]) == 0
    return zipfile.ZipFile(out)


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Width, height and RGBA pixels of an 8-bit RGBA PNG written without row filters."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = {}, 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + body
        offset += 12 + length
    width, height, depth, colour, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour) == (8, 6)
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + width * 4
    pixels = []
    for y in range(height):
        row = raw[y * stride : (y + 1) * stride]
        assert row[0] == 0
        pixels += [tuple(row[1 + x * 4 : 5 + x * 4]) for x in range(width)]
    return width, height, pixels


def test_the_package_holds_the_manifest_and_its_icons_at_its_root(package):
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
    manifest = json.loads(package.read("manifest.json"))
    assert package.read(manifest["icons"]["color"])
    assert package.read(manifest["icons"]["outline"])


def test_manifest_within_the_documented_constraints(package):
    manifest = json.loads(package.read("manifest.json"))
    assert manifest["id"] == APP_ID
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["manifestVersion"] in manifest["$schema"]
    assert len(manifest["developer"]["name"]) <= 32
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert manifest["developer"][key].startswith("https://")
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["name"]["full"]) <= 100
    assert manifest["name"]["short"] != manifest["name"]["full"]
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000
    assert manifest["description"]["short"] not in manifest["description"]["full"]
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", manifest["accentColor"])
    assert manifest["validDomains"] == ["ciw-bot.example.org"]
    [bot] = manifest["bots"]  # one bot per app
    assert bot["botId"] == APP_ID
    assert sorted(bot["scopes"]) == ["personal", "team"]
    assert 1 <= len(bot["commandLists"]) <= 2
    for command_list in bot["commandLists"]:
        assert set(command_list["scopes"]) <= set(bot["scopes"])
        assert 1 <= len(command_list["commands"]) <= 10
        for command in command_list["commands"]:
            # 32 in the commandLists table, 12 in the commands table: both hold.
            assert 0 < len(command["title"]) <= 12
            assert 0 < len(command["description"]) <= 128


def test_the_bot_hears_replies_in_its_channels_reply_chains(package):
    # Review comments are replies that do not @mention the bot: resource-specific consent.
    manifest = json.loads(package.read("manifest.json"))
    assert manifest["webApplicationInfo"]["id"] == APP_ID
    assert manifest["authorization"]["permissions"]["resourceSpecific"] == [
        {"name": "ChannelMessage.Read.Group", "type": "Application"}
    ]


def test_the_bot_takes_files_in_its_personal_chat(package):
    # The translator sends the Welsh .docx there: "If the bot doesn't enable supportsFiles,
    # the features listed in this section don't work"
    # (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/bots-filesv4); the
    # manifest schema's `bots[].supportsFiles` is a boolean, false unless set.
    [bot] = json.loads(package.read("manifest.json"))["bots"]
    assert bot["supportsFiles"] is True
    assert "personal" in bot["scopes"]  # the one scope files reach a bot in


def test_menu_lists_subcommands_as_help_describes_them(package):
    manifest = json.loads(package.read("manifest.json"))
    commands = manifest["bots"][0]["commandLists"][0]["commands"]
    table = subcommands()
    titles = [c["title"] for c in commands]
    assert len(set(titles)) == len(titles)
    assert {"help", "log-activity", "log-finding", "draft-letter"} <= set(titles)
    for command in commands:
        # Picked from the menu, the title is typed as the message: it must be a subcommand.
        module = table[command["title"]]
        first_line = module.__doc__.strip().splitlines()[0].replace("`", "")
        assert command["description"].rstrip("…").rstrip(".") in first_line
        assert "`" not in command["description"]


def test_icons_are_the_sizes_and_colours_teams_wants(package):
    width, height, pixels = read_png(package.read("color.png"))
    assert (width, height) == (192, 192)
    assert all(p[3] == 255 for p in pixels)
    assert len(set(pixels)) > 1
    width, height, pixels = read_png(package.read("outline.png"))
    assert (width, height) == (32, 32)
    # White on transparent, nothing else.
    assert all(p[3] == 0 or p[:3] == (255, 255, 255) for p in pixels)
    assert any(p[3] == 0 for p in pixels) and any(p[3] == 255 for p in pixels)


def test_teams_package_needs_the_app_id(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("TEAMS_APP_ID", raising=False)
    assert main(["teams-package", "--out", str(tmp_path / "x.zip")]) == 2
    assert capsys.readouterr().err.strip() == (
        "ciw-bot: TEAMS_APP_ID is not set: see .env.example for what it should hold"
    )
    assert not (tmp_path / "x.zip").exists()
