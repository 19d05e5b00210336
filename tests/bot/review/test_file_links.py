"""Download links on the domain: tokens, hash-only storage, expiry, the history of downloads."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import select

from bot.review import file_links
from bot.settings import Settings
from db.models import Authority, Draft, DraftVersion, FileLink, HistoryEntry
from db.session import session_factory, transaction

NOW = dt.datetime(2020, 8, 3, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def session(engine):
    with transaction(session_factory(engine)) as session:
        yield session


@pytest.fixture
def version(session) -> DraftVersion:
    """Version 2 of a Wrexham 2019-20 draft."""
    wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
    draft = Draft(
        authority=wrexham,
        review_year=2019,
        channel_id="G0REVIEW",
        created_by="U0INSPECT",
        created_at=NOW,
    )
    versions = [
        DraftVersion(draft=draft, number=n, body="Dear", created_by="U0INSPECT", created_at=NOW)
        for n in (1, 2)
    ]
    session.add_all([draft, *versions])
    session.flush()
    return versions[1]


def downloads(session) -> list[HistoryEntry]:
    return list(
        session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.action == "downloaded")
            .order_by(HistoryEntry.id)
        )
    )


def test_a_token_is_random_long_url_safe_and_stored_only_as_its_hash(session, version):
    token = file_links.issue(session, version, actor="U0INSPECT", now=NOW)
    other = file_links.issue(session, version, actor="U0INSPECT", now=NOW)
    assert token != other and min(len(token), len(other)) >= 43  # 256 bits
    assert file_links.TOKEN.fullmatch(token) and file_links.TOKEN.fullmatch(other)

    rows = {row.token_hash: row for row in session.scalars(select(FileLink))}
    assert set(rows) == {hashlib.sha256(t.encode()).hexdigest() for t in (token, other)}
    row = rows[file_links.token_hash(token)]
    assert (row.version_id, row.created_by, row.created_at) == (version.id, "U0INSPECT", NOW)
    assert row.expires_at == NOW + dt.timedelta(days=14)
    stored = json.dumps([[str(v) for v in vars(r).values()] for r in rows.values()])
    assert token not in stored and other not in stored


def test_a_link_opens_its_version_until_exactly_14_days_after_it_was_made(session, version):
    token = file_links.issue(session, version, actor="U0INSPECT", now=NOW)
    assert file_links.open_link(session, token, now=NOW) is version
    last_moment = NOW + dt.timedelta(days=14) - dt.timedelta(microseconds=1)
    assert file_links.open_link(session, token, now=last_moment) is version
    assert file_links.open_link(session, token, now=NOW + dt.timedelta(days=14)) is None
    assert file_links.open_link(session, token, now=NOW + dt.timedelta(days=30)) is None


@pytest.mark.parametrize(
    "token",
    [
        "x" * 43,  # well formed, never issued
        "short",
        "",
        "a" * 201,
        "has/a/slash-and-is-long-enough",
        "has spaces and is long enough",
        "ünïcödé-and-long-enough-too",
    ],
)
def test_unknown_and_malformed_tokens_open_nothing(session, version, token):
    file_links.issue(session, version, actor="U0INSPECT", now=NOW)
    assert file_links.open_link(session, token, now=NOW) is None


def test_the_hash_itself_is_no_token(session, version):
    token = file_links.issue(session, version, actor="U0INSPECT", now=NOW)
    assert file_links.open_link(session, file_links.token_hash(token), now=NOW) is None


def test_each_download_is_kept_in_the_drafts_history_naming_the_link_not_the_token(
    session, version
):
    first = file_links.issue(session, version, actor="U0INSPECT", now=NOW)
    second = file_links.issue(session, version, actor="U0REVIEW", now=NOW)
    later = NOW + dt.timedelta(hours=1)
    for token in (first, first, second):
        file_links.record_download(session, token, version, now=later)
    session.flush()

    entries = downloads(session)
    assert len(entries) == 3
    for entry, token in zip(entries, (first, first, second), strict=True):
        assert (entry.subject, entry.subject_id, entry.action, entry.at) == (
            "draft",
            str(version.draft_id),
            "downloaded",
            later,
        )
        assert entry.changes == {"version": 2, "link": file_links.token_hash(token)[:12]}
        assert entry.actor == file_links.DOWNLOAD_ACTOR
    assert entries[0].changes["link"] != entries[2].changes["link"]
    assert not any(t in json.dumps([e.changes for e in entries]) for t in (first, second))


def test_opening_a_link_records_nothing_by_itself(session, version):
    token = file_links.issue(session, version, actor="U0INSPECT", now=NOW)
    file_links.open_link(session, token, now=NOW)
    session.flush()
    assert downloads(session) == []


def test_the_address_is_under_public_url_and_there_is_none_without_it():
    settings = Settings(public_url="https://ciw-bot.example.org")
    assert file_links.url(settings, "abc") == "https://ciw-bot.example.org/files/abc"
    assert file_links.url(Settings(), "abc") is None
