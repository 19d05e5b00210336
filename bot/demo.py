"""Demo records: Wrexham's 2019-20 year as the published performance review letter tells it,
and a 2020-21 year after it.

2019-20: the activities are the letter's; each finding is one of the letter's paragraphs in
our own words, under the principle where the letter makes it; the notes are the letter's
narrative that is no record (the introduction's COVID-19 sentence, the national report, the
plan). 2020-21 is invented: a few activities (all taken place, so the 2019-20 letter's plan
is unchanged), a finding under each principle, a plan note, and progress on some, not all,
of 2019-20's areas for improvement, so its draft has a progress section and flags the rest.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records import history
from db.models import (
    Activity,
    ActivityInspector,
    ActivityStatus,
    Authority,
    Finding,
    FindingKind,
    Note,
    NoteSection,
    Principle,
    Progress,
    Service,
)

DEMO_USER = "U0DEMO"
YEAR, NEXT_YEAR = 2019, 2020  # the reference letter's review year, and the one after it

C, A, B = Service.CHILDREN, Service.ADULTS, Service.BOTH
DONE = ActivityStatus.COMPLETED

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
]

S, IMP = FindingKind.STRENGTH, FindingKind.IMPROVEMENT
WB, PE, PR, PA = (
    Principle.WELL_BEING,
    Principle.PEOPLE,
    Principle.PREVENTION,
    Principle.PARTNERSHIPS,
)

# (principle, kind, service, text): each finding is one of the letter's paragraphs, in our
# own words, as an inspector would write it.
FINDINGS: list[tuple[Principle, FindingKind, Service | None, str]] = [
    (
        WB,
        IMP,
        C,
        "Over the year CIW's concerns about children's services rose from serious to "
        "significant. Wrexham County Borough Council's own performance information shows key "
        "areas of safeguarding practice getting worse. The progress CIW was shown at the May "
        "2019 improvement conference (better performance information, new appointments and "
        "lower caseloads) has not lasted, and CIW's review of the file of one vulnerable young "
        "person raised several concerns about their safety and well-being. An Accelerated "
        "Improvement Board has met since October 2019: the Chief Executive has set it to "
        "deliver tangible improvement by putting action plans in place and reviewing them, and "
        "an improvement plan with key objectives now exists.",
    ),
    (
        WB,
        S,
        A,
        "The joint HIW and CIW inspection of Wrexham's Community Mental Health Team (CMHT) "
        "found that, overall, the service gave people safe and effective care.",
    ),
    (
        PE,
        IMP,
        C,
        "In our performance evaluation activity we have pressed for an urgent change of culture "
        "in children's services, so that every member of staff is open and accountable and "
        "children are at the heart of practice and of the decisions made about them. CIW "
        "accepts that this needs the new statutory director and a senior team for children's "
        "services to be appointed first.",
    ),
    (
        PE,
        S,
        A,
        "Adults services have a small, experienced group of senior managers who are ready to "
        "try new ways of working. We found a commitment to good safeguarding and deprivation "
        "of liberty safeguards practice, and joint safeguarding work with Wrexham Maelor "
        "Hospital that works well.",
    ),
    (
        PE,
        IMP,
        A,
        "What CMHT staff told us about their workload and about management and leadership was "
        "mixed; the management team should look into it further. Most people who answered our "
        "questionnaire rated the CMHT's service excellent or very good, and nearly all said "
        "staff treat them with dignity and respect. People helped shape their own care and "
        "treatment plans, with family members or carers involved where that was right, which "
        "shows principles of the 2014 Act such as co-production and strengths-based practice "
        "being taken into account.",
    ),
    (
        PE,
        S,
        A,
        "The local authority cleared its backlog of Deprivation of Liberty Safeguards (DoLS) "
        "applications in earlier years and still has no waiting list, unlike many Welsh "
        "authorities, which gives assurance that people's well-being is safely secured. A "
        "dedicated DoLS team, a weekly allocation meeting and a clear process for "
        "authorisation and quality assurance are in place. Our joint national report on DoLS "
        "will follow in due course.",
    ),
    (
        PE,
        S,
        B,
        "A new online recruitment portal will help the council use and report on the Welsh "
        "language in its workforce, and it keeps an accessible, up to date list of staff who "
        "speak Welsh. The Welsh Community Care Information System (WCCIS) prompts staff to "
        "make the Active Offer of a service in Welsh and records that they did. The council "
        "plans to record more about the Active Offer on WCCIS and to make sure people who "
        "contact the Emergency Duty Team out of office hours can be served in the language "
        "they choose. CIW will follow this up in its 2020-2021 performance evaluation activity.",
    ),
    (
        PR,
        S,
        C,
        "In December 2019 we asked every local authority about the Public Accounts Committee's "
        "report on care experienced children, and in particular its recommendation 5 on how "
        "well and how often end of placement reviews are held. The local authority tells us "
        "that care planning and risk management meetings do take place for children whose "
        "placements are at risk of breaking down.",
    ),
    (
        PR,
        IMP,
        A,
        "The CMHT inspection found delays between referral and assessment. People with acute "
        "mental health problems may therefore get worse or relapse before their needs are "
        "met; Wrexham County Borough Council and Betsi Cadwaladr University Health Board need "
        "to address this key area of practice together.",
    ),
    (
        PA,
        S,
        C,
        "In February 2020 senior officers and managers assured CIW that Wrexham County Borough "
        "Council is committed to immediate and comprehensive action to improve outcomes for "
        "children and families, and this has begun with extra budget and more capacity in "
        "senior posts. The local authority has rightly sought help from the statutory director "
        "of another local authority, other local authorities in the region, the regional "
        "safeguarding board and the Welsh Local Government Association (WLGA). The focused "
        "activity CIW planned to confirm progress has been postponed because of COVID-19.",
    ),
    (
        PA,
        S,
        A,
        "The CMHT inspection found a multi-disciplinary, person-centred approach to assessment, "
        "care planning and review, with people and their families involved; overall the "
        "multi-disciplinary approach to care was good.",
    ),
]

# (section, text): the letter's narrative that is no record, as CIW writes it.
NOTES: list[tuple[NoteSection, str]] = [
    (
        NoteSection.INTRO,
        "We acknowledge, due to the unprecedented circumstances relating to COVID-19, we were "
        "unable to complete the annual performance review meeting.",
    ),
    (
        NoteSection.PREVENTION,
        "During 2018 our programme of work focused on care experienced children and young "
        "people. The [report](https://www.careinspectorate.wales) is published on our "
        "website. Key findings highlight areas for improvement in respect of profile, "
        "sufficiency, practice, partnerships, stability, governance, and corporate parenting. "
        "Many of the areas we have identified for improvement continue to be considered by "
        "Welsh Government's Ministerial Advisory Group on improving outcomes for care "
        "experienced children and young people and we also hope local authorities will "
        "consider their own contribution to addressing these findings.",
    ),
    (
        NoteSection.PLAN,
        "Our scheduled thematic inspection programme for 2019-2020 focused on prevention and "
        "promoting independence for older people, and for the current children's services "
        "thematic inspection the focus is on prevention, partnerships and experiences of "
        "disabled children. Due to the current emergency situation relating to COVID-19 we "
        "have paused the publication of our older people's report and paused all activity "
        "relating to the disabled children's review. We will advise you in due course when we "
        "envisage recommencing our inspections.",
    ),
    (
        NoteSection.PLAN,
        "We hope to publish the older people's national report in due course and want to take "
        "this opportunity to thank you for your local authority's contribution to this.",
    ),
    (
        NoteSection.PLAN,
        "Due to the unforeseen circumstances we find ourselves in, we are currently reviewing "
        "and considering our work plan for the remainder of 2020-2021.",
    ),
    (
        NoteSection.PLAN,
        "CIW worked together with HMI Constabulary (HMICFRS), HMI Probation, HIW and Estyn to "
        "develop a model of joint inspection of child protection arrangements in Wales "
        "(JICPA). This approach was piloted during the autumn of 2019. This was a fantastic "
        "example of new ways of working across wales and a real drive towards collaboration "
        "and integration in public services.",
    ),
]


# 2020-21 (invented): what took place, as the service lists will print it.
ACTIVITIES_2020: list[tuple[Service, str, str, str, str | None, ActivityStatus, str | None]] = [
    (B, "2020-07-08", "2020-07-08", "performance review meeting", ", held online", DONE, None),
    (
        C,
        "2020-10-13",
        "2020-10-15",
        "assurance check of children's services",
        "to review how children were kept safe during the pandemic",
        DONE,
        None,
    ),
    (A, "2020-11-24", "2020-11-24", "assurance check of adults services", None, DONE, None),
    (
        C,
        "2021-02-17",
        "2021-02-17",
        "improvement conference",
        "to review progress against the improvement plan",
        DONE,
        None,
    ),
]

FINDINGS_2020: list[tuple[Principle, FindingKind, Service | None, str]] = [
    (
        WB,
        S,
        A,
        "Through the pandemic adults services kept in regular touch with people who receive "
        "care and support at home, and found safe ways to go on assessing people's needs.",
    ),
    (
        PE,
        S,
        C,
        "Staff in children's services told us they feel listened to and better supported by "
        "their senior managers, and that supervision now takes place as planned.",
    ),
    (
        PR,
        IMP,
        C,
        "Early help does not yet reach enough families before their needs escalate; the local "
        "authority should review how families are referred to it.",
    ),
    (
        PA,
        S,
        B,
        "The local authority worked closely with Betsi Cadwaladr University Health Board and "
        "the third sector to keep essential services running through the pandemic.",
    ),
]

NOTES_2020: list[tuple[NoteSection, str]] = [
    (
        NoteSection.PLAN,
        "We will continue to review progress against the improvement plan through our "
        "performance evaluation activity in 2021-2022.",
    ),
]

# (the 2019-20 area for improvement answered, as its index in FINDINGS; the progress made
# in 2020-21). FINDINGS[4], the CMHT staff's mixed feedback, is left without progress: the
# 2020-21 draft flags it.
PROGRESS_2020: list[tuple[int, str]] = [
    (
        0,
        "The Accelerated Improvement Board has met every month and reviews the improvement "
        "plan at each meeting. Performance information shows more child protection visits "
        "made on time, though not yet consistently across teams.",
    ),
    (
        2,
        "A permanent statutory director and a head of children's services were appointed in "
        "2020. Staff describe a more open culture in which concerns are raised and acted on, "
        "and children's views are recorded more often in their plans.",
    ),
    (
        8,
        "The local authority and Betsi Cadwaladr University Health Board have agreed a joint "
        "plan to shorten the Community Mental Health Team's waiting times, and the time from "
        "referral to assessment has begun to fall.",
    ),
]


def load_demo(session: Session, *, now: dt.datetime, actor: str = DEMO_USER) -> int:
    """Record Wrexham's 2019-20 and 2020-21 activities, findings, notes and progress (once);
    how many records were added."""
    wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
    already = session.scalars(
        select(Activity.id).where(Activity.authority_id == wrexham.id, Activity.logged_by == actor)
    ).first()
    if already is not None:
        return 0
    demo = _Demo(session, wrexham, actor, now)
    for activity in (*ACTIVITIES, *ACTIVITIES_2020):
        demo.activity(*activity)
    improvements = [demo.finding(YEAR, *finding) for finding in FINDINGS]
    for finding in FINDINGS_2020:
        demo.finding(NEXT_YEAR, *finding)
    for year, notes in ((YEAR, NOTES), (NEXT_YEAR, NOTES_2020)):
        for section, text in notes:
            demo.note(year, section, text)
    for index, text in PROGRESS_2020:
        demo.progress(NEXT_YEAR, improvements[index], text)
    return demo.added


class _Demo:
    """Adds demo records to one authority, each with its history entry, counting them."""

    def __init__(self, session: Session, authority: Authority, actor: str, now: dt.datetime):
        self.session, self.authority, self.actor, self.now = session, authority, actor, now
        self.added = 0

    def _logged(self, record, subject: str, **extra) -> None:  # type: ignore[no-untyped-def]
        """Add a record and its "logged (demo)" history entry."""
        self.session.add(record)
        self.session.flush()
        history.record(
            self.session,
            actor=self.actor,
            subject=subject,
            subject_id=record.id,
            action="logged (demo)",
            at=self.now,
            **extra,
        )
        self.added += 1

    def activity(
        self,
        service: Service,
        start: str,
        end: str,
        title: str,
        details: str | None,
        status: ActivityStatus,
        reason: str | None,
    ) -> None:
        """An activity (one row of ACTIVITIES), with the demo user as its inspector."""
        activity = Activity(
            authority=self.authority,
            service=service,
            title=title,
            details=details,
            start_date=dt.date.fromisoformat(start),
            end_date=dt.date.fromisoformat(end),
            status=status,
            status_reason=reason,
            logged_by=self.actor,
            created_at=self.now,
            inspectors=[ActivityInspector(user_id=self.actor)],
        )
        self._logged(activity, "activity", reason=reason, changes={"status": status.value})

    def finding(
        self,
        year: int,
        principle: Principle,
        kind: FindingKind,
        service: Service | None,
        text: str,
    ) -> Finding:
        """A finding of a review year (one row of FINDINGS)."""
        finding = Finding(
            authority=self.authority,
            review_year=year,
            principle=principle,
            kind=kind,
            service=service,
            text=text,
            created_by=self.actor,
            created_at=self.now,
        )
        self._logged(finding, "finding")
        return finding

    def note(self, year: int, section: NoteSection, text: str) -> None:
        """A note of a review year (one row of NOTES)."""
        note = Note(
            authority=self.authority,
            review_year=year,
            section=section,
            text=text,
            created_by=self.actor,
            created_at=self.now,
        )
        self._logged(note, "note")

    def progress(self, year: int, finding: Finding, text: str) -> None:
        """Progress made in a review year on an area for improvement of an earlier one."""
        progress = Progress(
            authority_id=self.authority.id,
            finding=finding,
            review_year=year,
            text=text,
            created_by=self.actor,
            created_at=self.now,
        )
        self._logged(progress, "progress")
