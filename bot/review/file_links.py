"""Download links to a draft version's files, and to a year's overview: `PUBLIC_URL/files/<token>`.

Platforms that cannot take an upload in the draft's conversation (Teams) post a link
instead. A link opens one of three kinds of file of one version:

- `DRAFT`: the version's letter as a .docx (`bot.review.version_file`; the approved file
  once the version is approved);
- `PACK`: its translation pack (`bot.review.translation.pack_document`);
- `FINAL`: one final file of the letter issued from it (an `IssuedFile`, served as it was
  kept when issued, under its own name);

or, of no version, `OVERVIEW`: the overview of a review year as CSV
(`bot.review.overview_file`), made when the link is opened, from the records as they are
then (`create_overview`).

`create` makes a link of any kind and gives its address; `open_link` finds what a token
opens and `contents` makes the file. The token is the whole secret of a link: whoever
has the address has the file until it expires, so it is long and random, and only its
SHA-256 is stored (a copy of the database opens nothing). Each download goes into the
history (the draft's; an overview's under `overview` and its year) with the kind of file,
naming the link by the first characters of its hash, never by the token.

These functions take the caller's Session and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from bot.records import history
from bot.records.dates import ReviewYear
from bot.review import overview_file, translation, version_file
from bot.runtime import Runtime
from bot.settings import Settings
from db.models import DraftVersion, FileLink, HistoryEntry, IssuedFile, LetterIssue

TOKEN_BYTES = 32  # 256 bits from secrets.token_urlsafe: 43 URL-safe characters
LIFETIME = dt.timedelta(days=14)
PREFIX = "/files/"
# What token_urlsafe makes, with room to change TOKEN_BYTES; anything else is never looked up.
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,200}")
# Enough of the hash to tell a draft's links apart in its history, too little to matter.
LINK_ID_CHARS = 12
# Whoever holds a link downloads anonymously: the history names the link, not a person.
DOWNLOAD_ACTOR = "file link"

DRAFT, PACK, FINAL, OVERVIEW = "draft", "pack", "final", "overview"
KINDS = (DRAFT, PACK, FINAL, OVERVIEW)
OVERVIEW_SUBJECT = "overview"  # the history's subject of an overview's downloads


@dataclass(frozen=True)
class Opened:
    """What a live link opens: the version (none for `OVERVIEW`), the kind of file, for
    `FINAL` the issued file, for `OVERVIEW` the review year."""

    version: DraftVersion | None
    kind: str
    issued_file: IssuedFile | None = None
    year: ReviewYear | None = None


@dataclass(frozen=True)
class LinkedFile:
    """The file a link serves: its name and its bytes (a .docx, whatever the kind)."""

    filename: str
    content: bytes
    content_type: str = version_file.CONTENT_TYPE


def token_hash(token: str) -> str:
    """What is stored and looked up for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_id(token: str) -> str:
    """How logs and the history name a link: the first characters of its hash."""
    return token_hash(token)[:LINK_ID_CHARS]


def _check_kind(
    session: Session, version: DraftVersion, kind: str, issued_file: IssuedFile | None
) -> None:
    # A link that would open the wrong file is a bug in the caller: it fails loudly.
    if kind not in KINDS or kind == OVERVIEW:
        raise ValueError(f"no such kind of file link of a version: {kind!r}")
    if kind == FINAL:
        if issued_file is None:
            raise ValueError("a link to a final file names the issued file")
        issue = session.get(LetterIssue, issued_file.issue_id)
        if issue is None or issue.version_id != version.id:
            raise ValueError("the issued file is not of this version's letter")
    elif issued_file is not None:
        raise ValueError(f"a {kind} link opens no issued file")


def issue(
    session: Session,
    version: DraftVersion,
    *,
    actor: str,
    now: dt.datetime,
    kind: str = DRAFT,
    issued_file: IssuedFile | None = None,
) -> str:
    """A new download link to one of `version`'s files (`kind`; for `FINAL`, `issued_file`,
    one of the files of the letter issued from this version), made by `actor`, expiring
    LIFETIME after `now`; returns its token (shown once: only the hash is kept)."""
    _check_kind(session, version, kind, issued_file)
    return _made(
        session,
        actor=actor,
        now=now,
        version_id=version.id,
        kind=kind,
        issued_file_id=issued_file.id if issued_file is not None else None,
    )


def _made(session: Session, *, actor: str, now: dt.datetime, **opens: object) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        FileLink(
            token_hash=token_hash(token),
            created_by=actor,
            created_at=now,
            expires_at=now + LIFETIME,
            **opens,
        )
    )
    session.flush()
    return token


def create_overview(
    session: Session, year: ReviewYear, settings: Settings, *, now: dt.datetime, actor: str
) -> str | None:
    """The address of a new link to the overview of `year` as CSV, made by `actor` (whoever
    asked for it), expiring LIFETIME after `now`; None when there is no PUBLIC_URL (no
    link is made then)."""
    if not settings.public_url:
        return None
    token = _made(session, actor=actor, now=now, kind=OVERVIEW, review_year=year.start_year)
    return url(settings, token)


def url(settings: Settings, token: str) -> str | None:
    """The link's address under PUBLIC_URL; None when PUBLIC_URL is not set (no links)."""
    if not settings.public_url:
        return None
    return f"{settings.public_url}{PREFIX}{token}"


def create(
    session: Session,
    version: DraftVersion,
    settings: Settings,
    *,
    now: dt.datetime,
    actor: str,
    kind: str = DRAFT,
    issued_file: IssuedFile | None = None,
) -> str | None:
    """The address of a new link to one of `version`'s files (see `issue`), or None when
    there is no PUBLIC_URL to serve it from: then no link is made at all."""
    if not settings.public_url:
        _check_kind(session, version, kind, issued_file)  # a wrong call fails all the same
        return None
    token = issue(session, version, actor=actor, now=now, kind=kind, issued_file=issued_file)
    return url(settings, token)


def open_link(session: Session, token: str, *, now: dt.datetime) -> Opened | None:
    """What a token opens while its link has not expired; None for a malformed, unknown or
    expired token alike (the caller must not tell them apart)."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None
    found = session.execute(
        select(FileLink, DraftVersion)
        .outerjoin(DraftVersion, FileLink.version_id == DraftVersion.id)
        # Expired at exactly `expires_at`: a link lasts LIFETIME, not a moment longer.
        .where(FileLink.token_hash == token_hash(token), FileLink.expires_at > now)
    ).first()
    if found is None:
        return None
    link, version = found
    if link.kind not in KINDS:
        return None  # a kind this code does not know opens nothing
    if link.kind == OVERVIEW:
        if link.review_year is None:
            return None
        return Opened(None, OVERVIEW, year=ReviewYear(link.review_year))
    if version is None:
        return None
    issued = None
    if link.kind == FINAL:
        # The content is a deferred column: loaded here, for the one file served.
        issued = session.scalars(
            select(IssuedFile)
            .options(undefer(IssuedFile.content))
            .where(IssuedFile.id == link.issued_file_id)
        ).first()
        if issued is None:
            return None
    return Opened(version, link.kind, issued)


def contents(runtime: Runtime, session: Session, opened: Opened) -> LinkedFile:
    """The file a link opens, made now (a draft's letter, its pack, an overview) or as kept
    (a final file)."""
    if opened.kind == OVERVIEW:
        assert opened.year is not None
        made = overview_file.made(runtime, session, opened.year)
        return LinkedFile(made.filename, made.content, made.content_type)
    version = opened.version
    assert version is not None
    if opened.kind == FINAL:
        assert opened.issued_file is not None
        return LinkedFile(opened.issued_file.name, opened.issued_file.content)
    if opened.kind == PACK:
        draft = version.draft
        _, filename = translation.pack_names(runtime, draft, version)
        return LinkedFile(filename, translation.pack_document(runtime, draft, version))
    made = version_file.version_docx(runtime, version)
    return LinkedFile(made.filename, made.content)


def record_download(
    session: Session, token: str, opened: Opened, *, now: dt.datetime
) -> HistoryEntry:
    """Record in the draft's history that a file (its kind named, and a final file's
    language) was downloaded through this link; an overview's, under its year."""
    if opened.version is None:
        assert opened.year is not None
        return history.record(
            session,
            actor=DOWNLOAD_ACTOR,
            subject=OVERVIEW_SUBJECT,
            subject_id=opened.year.label,
            action="downloaded",
            at=now,
            changes={"kind": opened.kind, "link": link_id(token)},
        )
    changes: dict[str, object] = {
        "version": opened.version.number,
        "kind": opened.kind,
        "link": link_id(token),
    }
    if opened.issued_file is not None:
        changes["language"] = opened.issued_file.language
    return history.record(
        session,
        actor=DOWNLOAD_ACTOR,
        subject="draft",
        subject_id=opened.version.draft_id,
        action="downloaded",
        at=now,
        changes=changes,
    )
