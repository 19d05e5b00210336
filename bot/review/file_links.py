"""Download links to one draft version's .docx: `PUBLIC_URL/files/<token>`.

Platforms that cannot take an upload in the draft's conversation (Teams) post a link
instead. The token is the whole secret of a link: whoever has the address has the file
until it expires, so it is long and random, and only its SHA-256 is stored (a copy of
the database opens nothing). Each download goes into the draft's history, naming the
link by the first characters of its hash, never by the token.

These functions take the caller's Session and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records import history
from bot.settings import Settings
from db.models import DraftVersion, FileLink, HistoryEntry

TOKEN_BYTES = 32  # 256 bits from secrets.token_urlsafe: 43 URL-safe characters
LIFETIME = dt.timedelta(days=14)
PREFIX = "/files/"
# What token_urlsafe makes, with room to change TOKEN_BYTES; anything else is never looked up.
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,200}")
# Enough of the hash to tell a draft's links apart in its history, too little to matter.
LINK_ID_CHARS = 12
# Whoever holds a link downloads anonymously: the history names the link, not a person.
DOWNLOAD_ACTOR = "file link"


def token_hash(token: str) -> str:
    """What is stored and looked up for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_id(token: str) -> str:
    """How logs and the history name a link: the first characters of its hash."""
    return token_hash(token)[:LINK_ID_CHARS]


def issue(session: Session, version: DraftVersion, *, actor: str, now: dt.datetime) -> str:
    """A new download link to `version`'s .docx, made by `actor`, expiring LIFETIME after
    `now`; returns its token (shown once: only the hash is kept)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        FileLink(
            token_hash=token_hash(token),
            version_id=version.id,
            created_by=actor,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    session.flush()
    return token


def url(settings: Settings, token: str) -> str | None:
    """The link's address under PUBLIC_URL; None when PUBLIC_URL is not set (no links)."""
    if not settings.public_url:
        return None
    return f"{settings.public_url}{PREFIX}{token}"


def open_link(session: Session, token: str, *, now: dt.datetime) -> DraftVersion | None:
    """The version a token links to, while the link has not expired; None for a malformed,
    unknown or expired token alike (the caller must not tell them apart)."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None
    return session.scalars(
        select(DraftVersion)
        .join(FileLink, FileLink.version_id == DraftVersion.id)
        # Expired at exactly `expires_at`: a link lasts LIFETIME, not a moment longer.
        .where(FileLink.token_hash == token_hash(token), FileLink.expires_at > now)
    ).first()


def record_download(
    session: Session, token: str, version: DraftVersion, *, now: dt.datetime
) -> HistoryEntry:
    """Record in the draft's history that `version`'s file was downloaded through this link."""
    return history.record(
        session,
        actor=DOWNLOAD_ACTOR,
        subject="draft",
        subject_id=version.draft_id,
        action="downloaded",
        at=now,
        changes={"version": version.number, "link": link_id(token)},
    )
