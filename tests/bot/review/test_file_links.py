"""Download links on the domain: tokens, hash-only storage, expiry, the history of downloads."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import select

from bot.records.dates import ReviewYear
from bot.review import file_links
from bot.runtime import build_runtime
from bot.settings import Settings
from db.models import (
    Authority,
    Draft,
    DraftVersion,
    FileLink,
    HistoryEntry,
    IssuedFile,
    LetterIssue,
)
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
    opened = file_links.open_link(session, token, now=NOW)
    assert (opened.version, opened.kind, opened.issued_file) == (version, "draft", None)
    last_moment = NOW + dt.timedelta(days=14) - dt.timedelta(microseconds=1)
    assert file_links.open_link(session, token, now=last_moment).version is version
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
        opened = file_links.open_link(session, token, now=later)
        file_links.record_download(session, token, opened, now=later)
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
        assert entry.changes == {
            "version": 2,
            "kind": "draft",
            "link": file_links.token_hash(token)[:12],
        }
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


def issued_files(session, version) -> list[IssuedFile]:
    """The letter issued from `version`, its English and Welsh files kept."""
    issue = LetterIssue(
        authority_id=version.draft.authority_id,
        review_year=version.draft.review_year,
        draft_id=version.draft_id,
        version_id=version.id,
        issued_on=dt.date(2020, 8, 3),
        issued_by="U0REVIEW",
    )
    session.add(issue)
    session.flush()
    files = [
        IssuedFile(
            issue_id=issue.id,
            language=lang,
            name=f"{lang}.docx",
            title=lang,
            content=data,
            sha256="0",
        )
        for lang, data in (("en", b"english"), ("cy", b"cymraeg"))
    ]
    session.add_all(files)
    session.flush()
    return files


def test_create_makes_a_link_of_each_kind_and_gives_its_address(session, version):
    settings = Settings(public_url="https://ciw-bot.example.org")
    english, welsh = issued_files(session, version)
    made = {
        kind: file_links.create(
            session, version, settings, now=NOW, actor="bot", kind=kind, issued_file=file
        )
        for kind, file in (("draft", None), ("pack", None), ("final", welsh))
    }
    for kind, address in made.items():
        assert address.startswith("https://ciw-bot.example.org/files/")
        opened = file_links.open_link(session, address.rpartition("/")[2], now=NOW)
        assert (opened.version, opened.kind) == (version, kind)
    final = file_links.open_link(session, made["final"].rpartition("/")[2], now=NOW)
    assert final.issued_file is welsh and final.issued_file.content == b"cymraeg"
    rows = {row.kind: row for row in session.scalars(select(FileLink))}
    assert rows["final"].issued_file_id == welsh.id and rows["pack"].issued_file_id is None
    assert english.id != welsh.id


def test_without_public_url_create_makes_no_link(session, version):
    assert file_links.create(session, version, Settings(), now=NOW, actor="bot") is None
    assert (
        file_links.create(session, version, Settings(), now=NOW, actor="bot", kind="pack") is None
    )
    assert session.scalars(select(FileLink)).first() is None


def test_a_link_that_would_open_the_wrong_file_is_refused(session, version):
    settings = Settings(public_url="https://ciw-bot.example.org")
    english, _ = issued_files(session, version)
    other = DraftVersion(
        draft=version.draft, number=3, body="Dear", created_by="U0INSPECT", created_at=NOW
    )
    session.add(other)
    session.flush()
    for kind, file, on in (
        ("final", None, version),  # a final link names its file
        ("draft", english, version),  # only a final link opens an issued file
        ("final", english, other),  # the file is another version's letter
        ("letter", None, version),  # no such kind
    ):
        with pytest.raises(ValueError):
            file_links.create(
                session, on, settings, now=NOW, actor="bot", kind=kind, issued_file=file
            )
        with pytest.raises(ValueError):
            file_links.create(
                session, on, Settings(), now=NOW, actor="bot", kind=kind, issued_file=file
            )
    assert session.scalars(select(FileLink)).first() is None


def test_a_final_download_names_the_kind_and_the_files_language(session, version):
    _, welsh = issued_files(session, version)
    token = file_links.issue(
        session, version, actor="bot", now=NOW, kind="final", issued_file=welsh
    )
    opened = file_links.open_link(session, token, now=NOW)
    entry = file_links.record_download(session, token, opened, now=NOW)
    assert entry.changes == {
        "version": 2,
        "kind": "final",
        "link": file_links.link_id(token),
        "language": "cy",
    }


def test_a_link_of_a_kind_this_code_does_not_know_opens_nothing(session, version):
    token = file_links.issue(session, version, actor="bot", now=NOW)
    row = session.get(FileLink, file_links.token_hash(token))
    row.kind = "someday"
    session.flush()
    assert file_links.open_link(session, token, now=NOW) is None


def test_an_overview_link_opens_its_year_as_csv_and_its_downloads_are_kept(session, engine):
    settings = Settings(public_url="https://ciw-bot.example.org")
    assert (
        file_links.create_overview(session, ReviewYear(2019), Settings(), now=NOW, actor="U0")
        is None
    )
    address = file_links.create_overview(
        session, ReviewYear(2019), settings, now=NOW, actor="U0REVIEW"
    )
    token = address.rpartition("/")[2]
    link = session.get(FileLink, file_links.token_hash(token))
    assert (link.kind, link.review_year, link.version_id) == ("overview", 2019, None)
    assert link.expires_at == NOW + dt.timedelta(days=14)
    opened = file_links.open_link(session, token, now=NOW)
    assert (opened.kind, opened.year, opened.version) == ("overview", ReviewYear(2019), None)
    assert file_links.open_link(session, token, now=NOW + dt.timedelta(days=14)) is None
    runtime = build_runtime(
        Settings(database_url=str(engine.url)), engine=engine, clock=lambda: NOW
    )
    made = file_links.contents(runtime, session, opened)
    assert made.content_type == "text/csv; charset=utf-8"
    assert made.filename == "ciw-overview-2019-20-2020-08-03.csv"
    assert made.content.decode("utf-8-sig").startswith("Local authority,Letter,State,")
    file_links.record_download(session, token, opened, now=NOW)
    session.flush()
    [entry] = downloads(session)
    assert (entry.subject, entry.subject_id, entry.actor) == (
        "overview",
        "2019-20",
        file_links.DOWNLOAD_ACTOR,
    )
    assert entry.changes == {"kind": "overview", "link": file_links.link_id(token)}


def test_a_version_link_is_never_an_overview_link(session, version):
    with pytest.raises(ValueError):
        file_links.issue(session, version, actor="U0", now=NOW, kind=file_links.OVERVIEW)
