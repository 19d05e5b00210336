from sqlalchemy import func, select

from bot.demo import ACTIVITIES, FINDINGS, NOTES, load_demo
from db.models import Activity, ActivityStatus, Finding, Note, NoteSection


def test_demo_records_the_reference_year_once(runtime):
    with runtime.transaction() as session:
        assert load_demo(session, now=runtime.now()) == len(ACTIVITIES) + len(FINDINGS) + len(NOTES)
    with runtime.transaction() as session:
        assert load_demo(session, now=runtime.now()) == 0
        assert session.scalar(select(func.count(Activity.id))) == len(ACTIVITIES)
        assert session.scalar(select(func.count(Finding.id))) == len(FINDINGS)
        assert session.scalar(select(func.count(Note.id))) == len(NOTES)
        # The reference letter lists only activities that took place; what COVID-19 stopped
        # is told in its notes.
        statuses = set(session.scalars(select(Activity.status)))
        assert statuses == {ActivityStatus.COMPLETED}
        sections = {n.section for n in session.scalars(select(Note))}
        assert {NoteSection.INTRO, NoteSection.PLAN} <= sections
        principles = {f.principle.value for f in session.scalars(select(Finding))}
        assert principles == {"well-being", "people", "prevention", "partnerships"}
