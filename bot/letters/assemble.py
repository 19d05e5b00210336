"""Assembling one authority's letter for one review year from its records.

The whole letter is read in a fixed number of queries (activities of this year and the
next in one, findings in another), whatever the number of records, and returned as a
plain `Letter` value the templates render.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from bot.activities import letter_line
from bot.dates import ReviewYear
from bot.settings import Settings
from db.models import (
    Activity,
    ActivityStatus,
    Authority,
    Finding,
    FindingKind,
    Language,
    Principle,
    Service,
)

# The order the letter's summary follows: the four principles of the 2014 Act.
PRINCIPLES = (Principle.WELL_BEING, Principle.PEOPLE, Principle.PREVENTION, Principle.PARTNERSHIPS)
# Within a principle, children's findings come first, then adults', then those for both.
_SERVICE_ORDER = {Service.CHILDREN: 0, Service.ADULTS: 1, Service.BOTH: 2, None: 3}
_PLAN_STATUSES = (ActivityStatus.SCHEDULED, ActivityStatus.POSTPONED)


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
class PrincipleSection:
    """A principle of the 2014 Act with its strengths and areas for improvement."""

    principle: Principle
    strengths: tuple[FindingItem, ...]
    improvements: tuple[FindingItem, ...]

    @property
    def empty(self) -> bool:
        """Nothing recorded under this principle (the letter says so)."""
        return not self.strengths and not self.improvements


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
    plan: tuple[ActivityItem, ...]  # next year's scheduled and postponed activities
    carried_over: tuple[ActivityItem, ...]  # this year's postponed activities
    signatory_name: str
    signatory_title: str
    cc: tuple[str, ...]

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
        return sum(len(p.strengths) + len(p.improvements) for p in self.principles)


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
    """The letter for `authority` and review `year`, dated `today`: two queries in all."""
    following = year.next()
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
    findings = session.scalars(
        select(Finding)
        .options(lazyload(Finding.authority))
        .where(
            Finding.authority_id == authority.id,
            Finding.review_year == year.start_year,
            Finding.removed_at.is_(None),
        )
        .order_by(Finding.id)
    ).all()

    children: list[ActivityItem] = []
    adults: list[ActivityItem] = []
    plan: list[ActivityItem] = []
    carried_over: list[ActivityItem] = []
    for activity in activities:
        item = _activity_item(activity)
        if year.contains(activity.start_date):
            if activity.service in (Service.CHILDREN, Service.BOTH):
                children.append(item)
            if activity.service in (Service.ADULTS, Service.BOTH):
                adults.append(item)
            if activity.status is ActivityStatus.POSTPONED:
                carried_over.append(item)
        elif activity.status in _PLAN_STATUSES:
            plan.append(item)

    by_principle: dict[Principle, dict[FindingKind, list[FindingItem]]] = {
        p: {FindingKind.STRENGTH: [], FindingKind.IMPROVEMENT: []} for p in PRINCIPLES
    }
    for finding in findings:
        by_principle[finding.principle][finding.kind].append(
            FindingItem(finding.id, finding.kind, finding.service, one_line(finding.text))
        )

    def ordered(items: list[FindingItem]) -> tuple[FindingItem, ...]:
        return tuple(sorted(items, key=lambda f: (_SERVICE_ORDER[f.service], f.id)))

    principles = tuple(
        PrincipleSection(
            principle=p,
            strengths=ordered(by_principle[p][FindingKind.STRENGTH]),
            improvements=ordered(by_principle[p][FindingKind.IMPROVEMENT]),
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
        carried_over=tuple(carried_over),
        signatory_name=settings.signatory_name,
        signatory_title=settings.signatory_title,
        cc=settings.letter_cc,
    )
