"""Demo records: Wrexham's 2019-20 year as the published performance review letter tells it.

The activities are the letter's; the findings are short points in our own words, one per
point the letter makes, under the principle where it makes it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import history
from db.models import (
    Activity,
    ActivityInspector,
    ActivityStatus,
    Authority,
    Finding,
    FindingKind,
    Principle,
    Service,
)

DEMO_USER = "U0DEMO"

C, A, B = Service.CHILDREN, Service.ADULTS, Service.BOTH
DONE, POSTPONED, CANCELLED = (
    ActivityStatus.COMPLETED,
    ActivityStatus.POSTPONED,
    ActivityStatus.CANCELLED,
)

# (service, start, end, title, details, status, reason)
ACTIVITIES: list[tuple[Service, str, str, str, str | None, ActivityStatus, str | None]] = [
    (B, "2019-04-10", "2019-04-10", "performance review meeting", None, DONE, None),
    (
        C,
        "2019-05-03",
        "2019-05-03",
        "improvement conference",
        "to discuss progress made since improvement conference held 8 October 2018",
        DONE,
        None,
    ),
    (B, "2019-08-21", "2019-08-21", "practice and performance review meeting", None, DONE, None),
    (
        C,
        "2019-09-24",
        "2019-09-25",
        "focused activity in children's services",
        "to review selected files and records. Interviews with staff at the Single Point of Access "
        "Team, senior managers and officers",
        DONE,
        None,
    ),
    (
        A,
        "2019-10-15",
        "2019-10-16",
        "inspection of Community Mental Health Team with Healthcare Inspectorate Wales (HIW)",
        None,
        DONE,
        None,
    ),
    (
        C,
        "2019-12-18",
        "2019-12-18",
        "meeting between CIW and Director of Social Services",
        ", to discuss concerns and progress",
        DONE,
        None,
    ),
    (
        C,
        "2020-01-09",
        "2020-01-09",
        "meeting between CIW and Director of Social Services",
        ", to discuss concerns and progress",
        DONE,
        None,
    ),
    (
        C,
        "2020-01-22",
        "2020-01-22",
        "focused activity",
        ", review of one specific case of concern",
        DONE,
        None,
    ),
    (C, "2020-02-26", "2020-02-26", "assurance and risk assessment review", None, DONE, None),
    (
        B,
        "2020-03-24",
        "2020-03-24",
        "annual performance review meeting",
        None,
        CANCELLED,
        "unable to complete due to the unprecedented circumstances relating to COVID-19",
    ),
    (
        C,
        "2020-04-21",
        "2020-04-22",
        "focused activity to qualify progress in children's services",
        None,
        POSTPONED,
        "postponed due to the COVID-19 circumstances",
    ),
    (
        C,
        "2020-06-09",
        "2020-06-11",
        "thematic inspection: prevention, partnerships and experiences of disabled children",
        None,
        POSTPONED,
        "all activity paused during the COVID-19 emergency",
    ),
]

S, IMP = FindingKind.STRENGTH, FindingKind.IMPROVEMENT
WB, PE, PR, PA = (
    Principle.WELL_BEING,
    Principle.PEOPLE,
    Principle.PREVENTION,
    Principle.PARTNERSHIPS,
)

# (principle, kind, service, text)
FINDINGS: list[tuple[Principle, FindingKind, Service | None, str]] = [
    (
        WB,
        IMP,
        C,
        "CIW's concerns about children's services escalated from serious to significant "
        "during the year.",
    ),
    (WB, IMP, C, "Performance information showed key areas of safeguarding practice declining."),
    (WB, IMP, C, "Progress reported at the May 2019 improvement conference was not sustained."),
    (
        WB,
        IMP,
        C,
        "A file review of a vulnerable young person found concerns about their safety and "
        "well-being.",
    ),
    (
        WB,
        S,
        C,
        "An Accelerated Improvement Board was set up in October 2019, with an improvement "
        "plan and key objectives in place.",
    ),
    (
        WB,
        S,
        A,
        "The joint HIW and CIW inspection found the CMHT provided safe and effective care overall.",
    ),
    (
        PE,
        S,
        A,
        "A small but experienced senior manager group in adults services is willing to try "
        "new approaches.",
    ),
    (
        PE,
        S,
        A,
        "Commitment to safeguarding and DoLS practice, with good joint safeguarding working "
        "with Wrexham Maelor Hospital.",
    ),
    (
        PE,
        IMP,
        A,
        "CMHT staff feedback on workload and on management and leadership was mixed and "
        "needs exploring by the management team.",
    ),
    (
        PE,
        S,
        A,
        "Most CMHT service users rated the service excellent or very good, and nearly all "
        "said staff treat them with dignity and respect.",
    ),
    (
        PE,
        S,
        A,
        "Service users, and family or carers where appropriate, were involved in developing "
        "care and treatment plans.",
    ),
    (
        PE,
        IMP,
        C,
        "Children's services need an urgent change of culture: transparency, accountability "
        "and children at the centre of practice and decisions.",
    ),
    (
        PE,
        IMP,
        C,
        "A new statutory director and senior team for children's services need to be appointed.",
    ),
    (
        PE,
        S,
        B,
        "A new online recruitment portal and an up to date list of Welsh-speaking staff "
        "support the Welsh language in the workforce.",
    ),
    (
        PE,
        IMP,
        B,
        "The Active Offer should be better recorded on WCCIS and available to people who "
        "contact the Emergency Duty Team.",
    ),
    (
        PE,
        S,
        A,
        "The DoLS backlog has been cleared and the authority operates without a waiting "
        "list, with a dedicated DoLS team.",
    ),
    (PR, IMP, A, "The CMHT inspection identified delays in responding to people."),
    (
        PR,
        IMP,
        C,
        "The national review of care experienced children found areas for improvement that "
        "the authority should consider.",
    ),
    (
        PR,
        S,
        C,
        "Care planning and risk management meetings take place for children at risk of "
        "placement breakdown.",
    ),
    (
        PA,
        S,
        C,
        "Senior officers committed in February 2020 to immediate and comprehensive action, "
        "with extra budget and senior capacity.",
    ),
    (
        PA,
        S,
        C,
        "The authority sought support from another statutory director, the region, the "
        "safeguarding board and the WLGA.",
    ),
    (
        PA,
        S,
        A,
        "The CMHT's multi-disciplinary, person-centred approach to assessment, care planning "
        "and review was good, and involved people and families.",
    ),
]


def load_demo(session: Session, *, now: dt.datetime, actor: str = DEMO_USER) -> int:
    """Record Wrexham's 2019-20 activities and findings (once); how many records were added."""
    wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
    already = session.scalars(
        select(Activity.id).where(Activity.authority_id == wrexham.id, Activity.logged_by == actor)
    ).first()
    if already is not None:
        return 0
    added = 0
    for service, start, end, title, details, status, reason in ACTIVITIES:
        activity = Activity(
            authority=wrexham,
            service=service,
            title=title,
            details=details,
            start_date=dt.date.fromisoformat(start),
            end_date=dt.date.fromisoformat(end),
            status=status,
            status_reason=reason,
            logged_by=actor,
            created_at=now,
            inspectors=[ActivityInspector(user_id=actor)],
        )
        session.add(activity)
        session.flush()
        history.record(
            session,
            actor=actor,
            subject="activity",
            subject_id=activity.id,
            action="logged (demo)",
            at=now,
            reason=reason,
            changes={"status": status.value},
        )
        added += 1
    for principle, kind, service, text in FINDINGS:
        finding = Finding(
            authority=wrexham,
            review_year=2019,
            principle=principle,
            kind=kind,
            service=service,
            text=text,
            created_by=actor,
            created_at=now,
        )
        session.add(finding)
        session.flush()
        history.record(
            session,
            actor=actor,
            subject="finding",
            subject_id=finding.id,
            action="logged (demo)",
            at=now,
        )
        added += 1
    return added
