"""A letter's life after approval: issued to the director, then published.

`issue` takes the draft's current version once it is approved (and its Welsh text, where
the authority corresponds in Welsh), dates the letter, makes its final files and keeps
them (`IssuedFile`: an issued letter never changes, whatever happens later to the
records or the template), and queues them into the review thread with a note. `publish`
records where the issued letter is on the web. One issue per version (a unique key): two
reviewers issuing at once issue once, and issuing again answers when it was issued.
After an issue, a new version of the same year is an admin's amendment.

Data functions take a Session and never commit; what the thread shows is queued in the
outbox with the record (`bot.review.draft_outbox`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from bot.access import roles
from bot.errors import UserError
from bot.records import history
from bot.records.dates import ReviewYear, letter_date
from bot.review import draft_outbox, translation
from bot.review.drafts import current, is_current, tally
from bot.review.final_files import NotIssuable, final_files
from bot.review.tally import APPROVED
from bot.runtime import Runtime
from db.models import Authority, Draft, DraftVersion, IssuedFile, LetterIssue, Role
from db.session import serialise_writes

ISSUED, PUBLISHED = "issued", "published"
MAX_URL = 2000
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True)
class Issued:
    """What `issue` came to: the issue, and whether this call made it (False: it was
    issued before, and nothing changed)."""

    issue: LetterIssue
    made: bool


@dataclass(frozen=True)
class Published:
    """What `publish` came to: the issue, the address it had before, whether it changed."""

    issue: LetterIssue
    before: str | None
    changed: bool


# -- reading -------------------------------------------------------------------------------
# The newest issue first: a year's letter is the one issued last (an amendment's, if any).
NEWEST_FIRST = (LetterIssue.issued_at.desc(), LetterIssue.id.desc())


def latest_issue(session: Session, authority_id: int, year: ReviewYear) -> LetterIssue | None:
    """The newest issue of this authority's letter for the year (an amendment's, if any)."""
    return session.scalars(
        select(LetterIssue)
        .where(
            LetterIssue.authority_id == authority_id,
            LetterIssue.review_year == year.start_year,
        )
        .order_by(*NEWEST_FIRST)
        .limit(1)
    ).first()


def latest_issues(session: Session, year: ReviewYear) -> dict[int, LetterIssue]:
    """`latest_issue` of every authority whose letter for the year was issued (authority id →
    its newest issue), in one query; their files are not loaded."""
    newest: dict[int, LetterIssue] = {}
    for found in session.scalars(
        select(LetterIssue)
        .options(lazyload(LetterIssue.files))
        .where(LetterIssue.review_year == year.start_year)
        .order_by(*NEWEST_FIRST)
    ):
        newest.setdefault(found.authority_id, found)
    return newest


def recency(version: DraftVersion) -> tuple[dt.datetime, int]:
    """Which of an authority's drafts for a year stands for its letter when no channel says
    which: the one whose current version (`version`) has the greatest key, made last."""
    return (version.created_at, version.id)


def issue_of(session: Session, version_id: int) -> LetterIssue | None:
    """The issue made from this version, if it was issued."""
    return session.scalars(select(LetterIssue).where(LetterIssue.version_id == version_id)).first()


def draft_for(
    session: Session, authority: Authority, year: ReviewYear, channel_id: str | None
) -> Draft:
    """The draft a command about this authority and year means: the one reviewed where it
    was typed, else the one with the newest version; UserError when there is none."""
    found = [
        d
        for d in session.scalars(
            select(Draft).where(
                Draft.authority_id == authority.id, Draft.review_year == year.start_year
            )
        )
        if d.versions
    ]
    if not found:
        raise UserError("issue_no_draft", council=authority.english_name, year=year)
    here = [d for d in found if d.channel_id == channel_id]
    if here:
        return here[0]
    return max(found, key=lambda d: recency(current(d)))


def _office_date(runtime: Runtime, moment: dt.datetime) -> dt.date:
    return moment.astimezone(runtime.settings.tz).date()


def approved_on(runtime: Runtime, session: Session, version: DraftVersion) -> dt.date | None:
    """The day the version became final: its English approval, or its Welsh text's when the
    authority corresponds in Welsh; None while it is not."""
    if version.approved_at is None:
        return None
    moments = [version.approved_at]
    if translation.needs_welsh(version.draft):
        owed = translation.for_version(session, version.id)
        text = translation.latest(owed) if owed is not None else None
        if text is None or text.approved_at is None:
            return None
        moments.append(text.approved_at)
    return _office_date(runtime, max(moments))


# -- issuing ---------------------------------------------------------------------------------
def issue(
    runtime: Runtime,
    session: Session,
    *,
    authority: Authority,
    year: ReviewYear,
    channel_id: str | None,
    actor: str,
    on: dt.date | None = None,
) -> Issued:
    """Issue the current version of this authority's letter for the year, dated `on` (today
    by default; never in the future, never before the version became final).

    Issued before: the earlier issue, unchanged (`made` False). Refused with UserError when
    the version is not approved, or its Welsh text is owed and not approved."""
    # One issuer at a time: the draft's rows are read and written under the write lock.
    serialise_writes(session)
    draft = draft_for(session, authority, year, channel_id)
    session.refresh(draft, with_for_update=True)
    version = current(draft)
    earlier = issue_of(session, version.id)
    if earlier is not None:
        return Issued(earlier, made=False)
    state = tally(session, version, runtime.settings.required_approvals)
    if not state.approved or version.approved_at is None:
        raise UserError("issue_not_approved", version=version.number, status=state.status)
    final_on = approved_on(runtime, session, version)
    if final_on is None:
        raise UserError("issue_welsh_not_approved", version=version.number)
    today = runtime.today()
    on = on or today
    if on > today:
        raise UserError("issue_future_date", date=on, today=today)
    if on < final_on:
        raise UserError("issue_before_approval", date=on, approved=final_on)
    now = runtime.now()
    amends = latest_issue(session, authority.id, year)
    made = LetterIssue(
        authority_id=authority.id,
        review_year=year.start_year,
        draft_id=draft.id,
        version_id=version.id,
        issued_on=on,
        issued_by=actor,
        issued_at=now,
    )
    session.add(made)
    session.flush()
    try:
        files = final_files(runtime, session, version, issued_on=on)
    except NotIssuable as error:
        # What the checks above cannot see (a letter with no date line to date, say).
        raise UserError("issue_not_issuable", version=version.number, reason=str(error)) from None
    for file in files:
        session.add(
            IssuedFile(
                issue_id=made.id,
                language=file.language,
                name=file.name,
                title=file.title,
                content=file.content,
                sha256=hashlib.sha256(file.content).hexdigest(),
            )
        )
    session.flush()
    changes: dict[str, Any] = {"version": version.number, "date": on.isoformat()}
    if amends is not None:
        changes["amends"] = amends.issued_on.isoformat()
    history.record(
        session, actor=actor, subject="draft", subject_id=draft.id, action=ISSUED, at=now,
        changes=changes,
    )  # fmt: skip
    session.refresh(made)
    draft_outbox.enqueue_issue(session, draft, version, made, now=now)
    return Issued(made, made=True)


# -- publishing ------------------------------------------------------------------------------
def check_url(text: str) -> str:
    """The address of a published letter: an absolute https URL with a host, no spaces or
    control characters, at most 2,000 characters; UserError saying what is wrong."""
    url = text.strip().strip("<>")
    if "|" in url:  # Slack's <url|label> form: the address is before the bar
        url = url.split("|", 1)[0]
    if len(url) > MAX_URL:
        raise UserError("publish_bad_url", value=url[:80] + "…", reason="too_long")
    parsed = urllib.parse.urlsplit(url) if not _CONTROL.search(url) else None
    if parsed is None or parsed.scheme.lower() != "https" or not parsed.hostname:
        raise UserError("publish_bad_url", value=url[:200], reason="not_https")
    return url


def publish(
    runtime: Runtime,
    session: Session,
    *,
    authority: Authority,
    year: ReviewYear,
    url: str,
    actor: str,
) -> Published:
    """Record where the issued letter of this authority and year is published (the newest
    issue's); the same address again changes nothing, a new one replaces it with history."""
    serialise_writes(session)
    found = latest_issue(session, authority.id, year)
    if found is None:
        raise UserError("publish_not_issued", council=authority.english_name, year=year)
    session.refresh(found, with_for_update=True)
    before = found.published_url
    if before == url:
        return Published(found, before, changed=False)
    now = runtime.now()
    found.published_url, found.published_by, found.published_at = url, actor, now
    draft = session.get(Draft, found.draft_id)
    assert draft is not None
    history.record(
        session,
        actor=actor,
        subject="draft",
        subject_id=draft.id,
        action=PUBLISHED,
        at=now,
        changes={"url": url, "before": before} if before else {"url": url},
    )
    session.flush()
    draft_outbox.enqueue_published(session, draft, found, now=now)
    return Published(found, before, changed=True)


# -- after the issue ---------------------------------------------------------------------------
def check_new_version(
    runtime: Runtime, session: Session, authority: Authority, year: ReviewYear, *, actor: str
) -> LetterIssue | None:
    """Before a new version of a year's letter: once it is issued, refuse anyone but an
    admin, with the date it was issued; for an admin, the issue the new version amends
    (None: never issued)."""
    issued = latest_issue(session, authority.id, year)
    if issued is None:
        return None
    if roles.role_of(session, actor, runtime.settings.admins) is not Role.ADMIN:
        raise UserError(
            "draft_issued", council=authority.english_name, year=year, date=issued.issued_on
        )
    return issued


def context(session: Session, draft: Draft, version: DraftVersion) -> dict[str, Any]:
    """What the review message shows of the letter's life: issued (when, by whom) and
    published (where), or the issue a later version amends."""
    year = ReviewYear(draft.review_year)
    issued = issue_of(session, version.id)
    if issued is not None:
        return {
            "status": issued.state,
            "issued": {
                "on": letter_date(issued.issued_on),
                "by": issued.issued_by,
                "url": issued.published_url,
                "published_by": issued.published_by,
                "files": len(issued.files),
            },
        }
    amended = session.scalars(
        select(LetterIssue)
        .where(
            LetterIssue.authority_id == draft.authority_id,
            LetterIssue.review_year == year.start_year,
            LetterIssue.issued_at <= version.created_at,
        )
        .order_by(*NEWEST_FIRST)
        .limit(1)
    ).first()
    if amended is not None:
        return {"amends": letter_date(amended.issued_on)}
    return {}


@dataclass(frozen=True)
class LetterState:
    """A letter past its review as the App Home lists it: approved (ready to issue),
    awaiting its Welsh, issued (when, by whom) or published (where)."""

    draft: Draft
    version: DraftVersion
    state: str
    issued_on: str | None = None
    issued_by: str | None = None
    published_url: str | None = None


def past_review(session: Session, *, limit: int = 20) -> list[LetterState]:
    """The letters whose current version is approved, newest first, with where each stands."""
    rows = session.execute(
        select(Draft, DraftVersion, LetterIssue)
        .join(DraftVersion, DraftVersion.draft_id == Draft.id)
        .outerjoin(LetterIssue, LetterIssue.version_id == DraftVersion.id)
        .where(DraftVersion.approved_at.is_not(None), is_current())
        .order_by(DraftVersion.approved_at.desc(), DraftVersion.id.desc())
        .limit(limit)
    ).all()
    waiting = translation.overall_statuses(
        session, {version.id: APPROVED for _, version, issue in rows if issue is None}
    )
    out = []
    for draft, version, issue in rows:
        if issue is not None:
            out.append(
                LetterState(
                    draft,
                    version,
                    issue.state,
                    letter_date(issue.issued_on),
                    issue.issued_by,
                    issue.published_url,
                )
            )
        else:
            out.append(LetterState(draft, version, waiting[version.id]))
    return out
