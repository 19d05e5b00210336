from db.models import Activity
from sqlalchemy import select


def test_log_activity_through_http(workspace, runtime):
    reply = workspace.command(
        "log-activity wrexham children 2019-09-24..2019-09-25 focused activity in children's "
        "services | to review selected files and records"
    )
    assert reply.get("response_type") == "ephemeral"
    assert "A1" in reply.get("text")
    assert ("focused activity in children's services, 24 and 25 September 2019 to review "
            "selected files and records") in reply.get("text")
    with runtime.transaction() as session:
        activity = session.scalars(select(Activity)).one()
        assert activity.status.value == "completed"


def test_unknown_authority(workspace, runtime):
    reply = workspace.command("log-activity wrexam children 2019-09-24 meeting")
    assert "wrexham" in reply.get("text")
    with runtime.transaction() as session:
        assert session.scalars(select(Activity)).all() == []
