"""Assembling one authority's letter for one review year from its records.

The whole letter is read in a fixed number of queries (activities of this year and the
next in one, findings of this year and last year's areas for improvement in another, notes
in a third, this year's progress with the findings it answers in a fourth), whatever the
number of records, and returned as a plain `Letter` value the templates render.

Each activity appears once: this year's in the year's lists with their status, next year's
scheduled (still ahead) and postponed ones in the plan. A scheduled activity whose date has
passed is never printed as planned; it is listed in `Letter.overdue` for the review message.

The progress section reports on last year's areas for improvement: the progress recorded
for this year, under the principle of the improvement each answers, in the findings' order.
Last year's improvements with none are listed in `Letter.unanswered` for the review message;
with no improvements last year and no progress this year, there is no section.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, lazyload

from bot.records import progress as progress_records
from bot.records.activities import letter_line
from bot.records.dates import ReviewYear
from bot.records.findings import PRINCIPLE_ORDER, letter_order
from bot.settings import Settings
from db.models import (
    Activity,
    ActivityStatus,
    Authority,
    Finding,
    FindingKind,
    Language,
    Note,
    NoteSection,
    Principle,
    Progress,
    Service,
)

# The order the letter's summary follows: the four principles of the 2014 Act.
PRINCIPLES = PRINCIPLE_ORDER


def one_line(text: str | None) -> str:
    """User text on one line: the letter's layout is the template's, never the typist's."""
    return " ".join((text or "").split())


@dataclass(frozen=True)
class Addressee:
    """Who the letter is written to."""

    director: str | None
    council: str
    welsh_name: str
    address_lines: tuple[str, ...]
    language: Language

    @property
    def welsh(self) -> bool:
        """The council corresponds in Welsh (`cy`) or in both languages."""
        return self.language in (Language.CY, Language.BOTH)

    @property
    def council_lines(self) -> tuple[str, ...]:
        """The council as the address block names it: its Welsh name first when it
        corresponds in Welsh, both names when it corresponds in both languages."""
        if self.language is Language.CY:
            return (self.welsh_name,)
        if self.language is Language.BOTH and self.welsh_name != self.council:
            return (self.welsh_name, self.council)
        return (self.council,)


@dataclass(frozen=True)
class ActivityItem:
    """One activity as the letter lists it."""

    id: int
    service: Service
    line: str
    status: ActivityStatus
    reason: str | None
    start: dt.date


@dataclass(frozen=True)
class FindingItem:
    """One finding as the letter states it."""

    id: int
    kind: FindingKind
    service: Service | None
    text: str


@dataclass(frozen=True)
class NoteItem:
    """One narrative paragraph (a note) as the letter prints it."""

    id: int
    text: str


@dataclass(frozen=True)
class ProgressItem:
    """One paragraph of progress on an area for improvement, as the letter prints it."""

    id: int
    finding_id: int
    text: str


@dataclass(frozen=True)
class ProgressSection:
    """The progress under one principle: on its areas for improvement, in the findings' order."""

    principle: Principle
    items: tuple[ProgressItem, ...]


@dataclass(frozen=True)
class PrincipleSection:
    """A principle of the 2014 Act: its findings as the letter's paragraphs, then its notes.

    `findings` is the letter's order (children's, adults', both, then those for no service,
    each in the order recorded); `strengths`/`improvements` are the same findings by kind,
    for a template that asks for labels.
    """

    principle: Principle
    findings: tuple[FindingItem, ...]
    notes: tuple[NoteItem, ...] = ()

    @property
    def strengths(self) -> tuple[FindingItem, ...]:
        """The strengths, in the letter's order."""
        return tuple(f for f in self.findings if f.kind is FindingKind.STRENGTH)

    @property
    def improvements(self) -> tuple[FindingItem, ...]:
        """The areas for improvement, in the letter's order."""
        return tuple(f for f in self.findings if f.kind is FindingKind.IMPROVEMENT)

    @property
    def empty(self) -> bool:
        """Nothing recorded under this principle (the letter says so)."""
        return not self.findings and not self.notes


@dataclass(frozen=True)
class Letter:
    """Everything the letter says, as data; templates add the wording."""

    authority_slug: str
    addressee: Addressee
    year: ReviewYear
    date: dt.date
    children: tuple[ActivityItem, ...]
    adults: tuple[ActivityItem, ...]
    principles: tuple[PrincipleSection, ...]
    plan: tuple[ActivityItem, ...]  # next year's postponed and still-ahead scheduled ones
    signatory_name: str
    signatory_title: str
    cc: tuple[str, ...]
    intro_notes: tuple[NoteItem, ...] = ()
    plan_notes: tuple[NoteItem, ...] = ()
    # Scheduled activities of this year or the next whose start has passed: flagged on the
    # review message (this year's are still listed; next year's are not printed as planned).
    overdue: tuple[ActivityItem, ...] = ()
    # The progress section: the principles with progress recorded for this year, and the
    # years whose areas for improvement it reports on (none: the letter has no section).
    progress: tuple[ProgressSection, ...] = ()
    progress_from: tuple[ReviewYear, ...] = ()
    # Last year's areas for improvement with no progress recorded for this year: flagged on
    # the review message, never dropped silently.
    unanswered: tuple[FindingItem, ...] = ()

    @property
    def has_activities(self) -> bool:
        """Any activity of the year is listed."""
        return bool(self.children or self.adults)

    @property
    def next_year(self) -> ReviewYear:
        """The year the plan is for."""
        return self.year.next()

    @property
    def activity_count(self) -> int:
        """Distinct activities listed in the year (an activity for both services counts once)."""
        return len({a.id for a in (*self.children, *self.adults)})

    @property
    def finding_count(self) -> int:
        """Findings stated in the summary."""
        return sum(len(p.findings) for p in self.principles)


def _activity_item(activity: Activity) -> ActivityItem:
    return ActivityItem(
        id=activity.id,
        service=activity.service,
        line=one_line(letter_line(activity)),
        status=activity.status,
        reason=one_line(activity.status_reason) or None,
        start=activity.start_date,
    )


def assemble(
    session: Session,
    authority: Authority,
    year: ReviewYear,
    *,
    today: dt.date,
    settings: Settings,
) -> Letter:
    """The letter for `authority` and review `year`, dated `today`: four queries in all."""
    following = year.next()
    previous = year.previous()
    # One query for this year's activities and next year's plan; inspectors and the
    # (already known) authority are not needed, so they are not loaded.
    activities = session.scalars(
        select(Activity)
        .options(lazyload(Activity.inspectors), lazyload(Activity.authority))
        .where(
            Activity.authority_id == authority.id,
            Activity.removed_at.is_(None),
            Activity.start_date >= year.first_day,
            Activity.start_date <= following.last_day,
        )
        .order_by(Activity.start_date, Activity.end_date, Activity.start_time, Activity.id)
    ).all()
    # This year's findings and, for the progress section, last year's areas for improvement.
    findings = session.scalars(
        select(Finding)
        .options(lazyload(Finding.authority))
        .where(
            Finding.authority_id == authority.id,
            or_(
                Finding.review_year == year.start_year,
                and_(
                    Finding.review_year == previous.start_year,
                    Finding.kind == FindingKind.IMPROVEMENT,
                ),
            ),
            Finding.removed_at.is_(None),
        )
        .order_by(Finding.id)
    ).all()
    notes = session.scalars(
        select(Note)
        .options(lazyload(Note.authority))
        .where(
            Note.authority_id == authority.id,
            Note.review_year == year.start_year,
            Note.removed_at.is_(None),
        )
        .order_by(Note.id)
    ).all()
    progress = progress_records.for_year(session, authority, year)

    children: list[ActivityItem] = []
    adults: list[ActivityItem] = []
    plan: list[ActivityItem] = []
    overdue: list[ActivityItem] = []
    for activity in activities:
        item = _activity_item(activity)
        passed = activity.status is ActivityStatus.SCHEDULED and activity.start_date < today
        if passed:
            overdue.append(item)
        if year.contains(activity.start_date):
            if activity.service in (Service.CHILDREN, Service.BOTH):
                children.append(item)
            if activity.service in (Service.ADULTS, Service.BOTH):
                adults.append(item)
        elif activity.status is ActivityStatus.POSTPONED or (
            activity.status is ActivityStatus.SCHEDULED and not passed
        ):
            plan.append(item)

    by_principle: dict[Principle, list[FindingItem]] = {p: [] for p in PRINCIPLES}
    last_years: list[Finding] = []
    for finding in sorted(findings, key=lambda f: letter_order(f.principle, f.service, f.id)):
        if finding.review_year != year.start_year:
            last_years.append(finding)
            continue
        by_principle[finding.principle].append(
            FindingItem(finding.id, finding.kind, finding.service, one_line(finding.text))
        )
    by_section: dict[NoteSection, list[NoteItem]] = {s: [] for s in NoteSection}
    for note in notes:
        by_section[note.section].append(NoteItem(note.id, one_line(note.text)))

    principles = tuple(
        PrincipleSection(
            principle=p,
            findings=tuple(by_principle[p]),
            notes=tuple(by_section[NoteSection(p.value)]),
        )
        for p in PRINCIPLES
    )
    return Letter(
        authority_slug=authority.slug,
        addressee=Addressee(
            director=one_line(authority.director) or None,
            council=authority.english_name,
            welsh_name=authority.welsh_name,
            address_lines=tuple(one_line(line) for line in authority.address_lines),
            language=authority.language,
        ),
        year=year,
        date=today,
        children=tuple(children),
        adults=tuple(adults),
        principles=principles,
        plan=tuple(plan),
        signatory_name=settings.signatory_name,
        signatory_title=settings.signatory_title,
        cc=settings.letter_cc,
        intro_notes=tuple(by_section[NoteSection.INTRO]),
        plan_notes=tuple(by_section[NoteSection.PLAN]),
        overdue=tuple(overdue),
        **_progress_section(year, progress, last_years),
    )


def _progress_section(
    year: ReviewYear, progress: list[Progress], last_years: list[Finding]
) -> dict[str, tuple]:
    """The Letter's progress fields: `progress` (in the findings' order, as `for_year` reads
    it), `progress_from` and `unanswered`."""
    by_principle: dict[Principle, list[ProgressItem]] = {}
    for answer in progress:
        by_principle.setdefault(answer.finding.principle, []).append(
            ProgressItem(answer.id, answer.finding_id, one_line(answer.text))
        )
    answered = {answer.finding_id for answer in progress}
    years = {ReviewYear(answer.finding.review_year) for answer in progress}
    if last_years:
        years.add(year.previous())
    return {
        "progress": tuple(
            ProgressSection(p, tuple(by_principle[p])) for p in PRINCIPLES if p in by_principle
        ),
        "progress_from": tuple(sorted(years, key=lambda y: y.start_year)),
        "unanswered": tuple(
            FindingItem(f.id, f.kind, f.service, one_line(f.text))
            for f in last_years
            if f.id not in answered
        ),
    }
