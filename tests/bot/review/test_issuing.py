"""Issuing and publishing on the domain: when a letter may be issued and dated, what an issue
keeps and queues, what publishing records, and what an issue closes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.errors import UserError
from bot.records.dates import ReviewYear
from bot.review import draft_outbox, draft_versions, drafts, issuing
from db.models import Delivery, HistoryEntry, IssuedFile, Language, LetterIssue
from tests.bot.review.test_final_files import REVIEWER, approved_version

YEAR = ReviewYear(2019)
LATER = dt.datetime(2020, 8, 20, 9, tzinfo=dt.UTC)


def issue(runtime, session, version, *, on=None, actor=REVIEWER):
    return issuing.issue(
        runtime,
        session,
        authority=version.draft.authority,
        year=YEAR,
        channel_id=version.draft.channel_id,
        actor=actor,
        on=on,
    )


def refused(code: str, call) -> dict:
    with pytest.raises(UserError) as caught:
        call()
    assert caught.value.template == code
    return caught.value.data


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("http://www.careinspectorate.wales/x", "not_https"),
        ("ftp://www.careinspectorate.wales/x", "not_https"),
        ("https://", "not_https"),
        ("https:///path-only", "not_https"),
        ("https://exa mple.wales/x", "not_https"),
        ("https://example.wales/\x00", "not_https"),
        ("www.careinspectorate.wales", "not_https"),
        ("https://example.wales/" + "x" * 2000, "too_long"),
    ],
)
def test_an_address_that_is_not_a_whole_https_url_is_refused(typed, reason):
    assert refused("publish_bad_url", lambda: issuing.check_url(typed))["reason"] == reason


def test_a_whole_https_url_is_taken_as_slack_or_teams_wrote_it():
    url = "https://www.careinspectorate.wales/wrexham-2019-20"
    assert issuing.check_url(url) == url
    assert issuing.check_url(f"<{url}>") == url
    assert issuing.check_url(f"<{url}|the letter>") == url


def test_an_issue_is_dated_never_ahead_and_never_before_the_letter_was_final(domain):
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.EN)
        approved_on = issuing.approved_on(runtime, session, version)
    clock.value = LATER
    with runtime.transaction() as session:
        version = session.merge(version)
        data = refused(
            "issue_future_date", lambda: issue(runtime, session, version, on=dt.date(2020, 8, 21))
        )
        assert data["today"] == dt.date(2020, 8, 20)
        day_before = approved_on - dt.timedelta(days=1)
        data = refused(
            "issue_before_approval", lambda: issue(runtime, session, version, on=day_before)
        )
        assert data["approved"] == approved_on
    with runtime.transaction() as session:
        done = issue(runtime, session, session.merge(version), on=approved_on)
        assert done.made and done.issue.issued_on == approved_on
        assert [f.language for f in done.issue.files] == ["en"]


def test_an_issue_keeps_its_files_and_queues_its_note_files_and_refresh(domain):
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.EN)
    clock.value = LATER
    with runtime.transaction() as session:
        made = issue(runtime, session, session.merge(version))
        issue_id = made.issue.id
    with runtime.transaction() as session:
        kept = session.scalars(select(IssuedFile)).one()
        assert kept.issue_id == issue_id and kept.content.startswith(b"PK")
        rows = session.scalars(
            select(Delivery).where(Delivery.key.like(f"%issue{issue_id}%")).order_by(Delivery.id)
        ).all()
        assert [(r.kind, (r.payload or {}).get("what")) for r in rows] == [
            (draft_outbox.NOTE, "issued"),
            (draft_outbox.FINAL, None),
        ]
        assert rows[1].payload["issued_file_id"] == kept.id
        history = session.scalars(
            select(HistoryEntry).where(HistoryEntry.action == issuing.ISSUED)
        ).one()
        assert history.changes == {"version": 1, "date": "2020-08-20"}

    # Again: the same issue, nothing new made, queued or recorded.
    with runtime.transaction() as session:
        again = issue(runtime, session, session.merge(version), actor="U0OTHER")
        assert not again.made and again.issue.id == issue_id
    with runtime.transaction() as session:
        assert len(session.scalars(select(LetterIssue)).all()) == 1
        assert len(session.scalars(select(IssuedFile)).all()) == 1


def test_an_unapproved_or_welsh_pending_letter_is_not_issued(domain):
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.BOTH)
        data = refused("issue_welsh_not_approved", lambda: issue(runtime, session, version))
        assert data["version"] == 1
    with runtime.transaction() as session:
        version = session.merge(version)
        drafts.request_changes(
            runtime, session, version.id, user_id="U0OTHER", reason="the plan is missing"
        )
    with runtime.transaction() as session:
        data = refused(
            "issue_not_approved", lambda: issue(runtime, session, session.merge(version))
        )
        assert data["status"] == "changes requested"
        assert session.scalars(select(LetterIssue)).all() == []


def test_a_letter_with_no_date_line_is_refused_with_the_reason(domain):
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.EN)
        version.body = "\n".join(
            line for line in version.body.splitlines() if not line.startswith("Date:")
        )
    clock.value = LATER
    with runtime.transaction() as session:
        data = refused(
            "issue_not_issuable", lambda: issue(runtime, session, session.merge(version))
        )
        assert "date line" in data["reason"]


def test_publishing_records_the_address_and_a_new_one_replaces_it_with_history(domain):
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.EN)
        authority = version.draft.authority
        refused(
            "publish_not_issued",
            lambda: issuing.publish(
                runtime,
                session,
                authority=authority,
                year=YEAR,
                url="https://a.wales/",
                actor=REVIEWER,
            ),
        )
    clock.value = LATER
    with runtime.transaction() as session:
        issue(runtime, session, session.merge(version))
    first, second = "https://a.wales/one", "https://a.wales/two"
    for url, before, changed in [(first, None, True), (first, first, False), (second, first, True)]:
        with runtime.transaction() as session:
            done = issuing.publish(
                runtime,
                session,
                authority=session.merge(authority),
                year=YEAR,
                url=url,
                actor=REVIEWER,
            )
            assert (done.before, done.changed, done.issue.published_url) == (before, changed, url)
    with runtime.transaction() as session:
        published = session.scalars(
            select(HistoryEntry.changes).where(HistoryEntry.action == issuing.PUBLISHED)
        ).all()
    assert published == [{"url": first}, {"url": second, "before": first}]


def test_after_the_issue_a_new_version_is_an_admins_amendment(domain):
    runtime, clock = domain
    with runtime.transaction() as session:
        version = approved_version(runtime, clock, session, Language.EN)
    clock.value = LATER
    with runtime.transaction() as session:
        issue(runtime, session, session.merge(version))
    with runtime.transaction() as session:
        draft = session.merge(version).draft
        data = refused(
            "draft_issued",
            lambda: draft_versions.new_version(
                runtime, session, draft, actor="U0INSPECT", post=False
            ),
        )
        assert data["date"] == dt.date(2020, 8, 20)
        # Nothing more is decided on the issued version either.
        refused(
            "draft_issued_final",
            lambda: drafts.approve(runtime, session, version.id, user_id="U0OTHER"),
        )
    admin_runtime_settings = runtime.settings.__class__(
        database_url=runtime.settings.database_url, admins=frozenset({"U0ADMIN"})
    )
    runtime.settings = admin_runtime_settings
    with runtime.transaction() as session:
        draft = session.merge(version).draft
        amended = draft_versions.new_version(runtime, session, draft, actor="U0ADMIN", post=False)
        assert issuing.context(session, draft, amended.version) == {"amends": "20 August 2020"}
        assert issuing.context(session, draft, session.merge(version))["status"] == issuing.ISSUED
