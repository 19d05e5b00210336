from sqlalchemy import func, select

from db.demo import ACTIVITIES, FINDINGS, load_demo
from db.models import Activity, ActivityStatus, Finding


def test_demo_records_the_reference_year_once(runtime):
    with runtime.transaction() as session:
        assert load_demo(session, now=runtime.now()) == len(ACTIVITIES) + len(FINDINGS)
    with runtime.transaction() as session:
        assert load_demo(session, now=runtime.now()) == 0
        assert session.scalar(select(func.count(Activity.id))) == len(ACTIVITIES)
        assert session.scalar(select(func.count(Finding.id))) == len(FINDINGS)
        postponed = session.scalars(
            select(Activity).where(Activity.status == ActivityStatus.POSTPONED)
        ).all()
        assert postponed and all("COVID-19" in a.status_reason for a in postponed)
        principles = {f.principle.value for f in session.scalars(select(Finding))}
        assert principles == {"well-being", "people", "prevention", "partnerships"}
