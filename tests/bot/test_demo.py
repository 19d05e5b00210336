from sqlalchemy import func, select

from bot.demo import (
    ACTIVITIES,
    ACTIVITIES_2020,
    FINDINGS,
    FINDINGS_2020,
    NOTES,
    NOTES_2020,
    PROGRESS_2020,
    load_demo,
)
from db.models import Activity, ActivityStatus, Finding, FindingKind, Note, NoteSection, Progress


def test_demo_records_the_reference_year_and_the_next_once(runtime):
    everything = (ACTIVITIES, ACTIVITIES_2020, FINDINGS, FINDINGS_2020, NOTES, NOTES_2020)
    with runtime.transaction() as session:
        added = load_demo(session, now=runtime.now())
        assert added == sum(len(records) for records in everything) + len(PROGRESS_2020)
    with runtime.transaction() as session:
        assert load_demo(session, now=runtime.now()) == 0
        assert session.scalar(select(func.count(Activity.id))) == len(ACTIVITIES) + len(
            ACTIVITIES_2020
        )
        assert session.scalar(select(func.count(Finding.id))) == len(FINDINGS) + len(FINDINGS_2020)
        assert session.scalar(select(func.count(Note.id))) == len(NOTES) + len(NOTES_2020)
        # The reference letter lists only activities that took place; what COVID-19 stopped
        # is told in its notes. The next year's took place too: the 2019-20 plan stays the
        # reference's.
        statuses = set(session.scalars(select(Activity.status)))
        assert statuses == {ActivityStatus.COMPLETED}
        sections = {
            n.section for n in session.scalars(select(Note).where(Note.review_year == 2019))
        }
        assert {NoteSection.INTRO, NoteSection.PLAN} <= sections
        for year in (2019, 2020):
            principles = {
                f.principle.value
                for f in session.scalars(select(Finding).where(Finding.review_year == year))
            }
            assert principles == {"well-being", "people", "prevention", "partnerships"}, year

        # 2020-21 reports progress on some of 2019-20's areas for improvement, not all.
        progress = session.scalars(select(Progress)).all()
        assert {p.review_year for p in progress} == {2020}
        answered = {p.finding_id for p in progress}
        improvements = session.scalars(
            select(Finding.id).where(
                Finding.review_year == 2019, Finding.kind == FindingKind.IMPROVEMENT
            )
        ).all()
        assert answered < set(improvements)
        assert {p.finding.kind for p in progress} == {FindingKind.IMPROVEMENT}
