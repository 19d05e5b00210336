"""`/ciw role` and who may do what, through the real HTTP path."""

import pytest
from sqlalchemy import func, select

from bot.settings import Settings
from db.models import Activity, Finding, HistoryEntry, Note, RoleGrant
from handlers.slack.text import visible
from tests.conftest import SIGNING_SECRET

ADMIN = "U0ADMIN"
ACTIVITY = "log-activity wrexham children 2019-09-24 focused activity"
FINDING = "log-finding wrexham 2019-20 prevention improvement adults Delays in responding."


@pytest.fixture
def settings(slack, engine):
    return Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=str(engine.url),
        admins=frozenset({ADMIN}),
    )


def text_of(reply):
    return visible(reply.get("text"))


def count(runtime, model):
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def history(runtime, action):
    with runtime.transaction() as session:
        return session.scalars(
            select(HistoryEntry).where(HistoryEntry.action == action).order_by(HistoryEntry.id)
        ).all()


def test_a_new_install_lets_every_member_work_and_says_so(workspace, runtime):
    listing = text_of(workspace.command("role", user="U0ANYONE"))
    assert "No role has been granted yet" in listing
    assert "<@U0ADMIN>" in workspace.command("role").get("text")
    assert "A1" in workspace.command(ACTIVITY, user="U0ANYONE").get("text")
    assert count(runtime, Activity) == 1


def test_admin_grants_and_roles_are_then_enforced(workspace, runtime):
    reply = workspace.command("role <@U0INSPECT|alex> inspector", user=ADMIN)
    assert reply.get("response_type") == "ephemeral"
    assert "<@U0INSPECT> is now inspector" in reply.get("text")
    [grant] = history(runtime, "grant")
    assert (grant.actor, grant.subject_id, grant.changes["new"]) == (
        ADMIN,
        "U0INSPECT",
        "inspector",
    )

    # Someone without a role may now only ask for help.
    refused = workspace.command(ACTIVITY, user="U0STRANGER")
    assert "needs an inspector's role" in text_of(refused)
    assert "you have no role yet" in text_of(refused)
    assert "<@U0ADMIN>" in refused.get("text")
    assert count(runtime, Activity) == 0
    [refusal] = history(runtime, "refused")
    assert (refusal.actor, refusal.changes["subcommand"]) == ("U0STRANGER", "log-activity")
    assert "/ciw log-activity" in text_of(workspace.command("help", user="U0STRANGER"))

    # The inspector may record; the listing shows the grant.
    assert "A1" in workspace.command(ACTIVITY, user="U0INSPECT").get("text")
    listing = workspace.command("role", user="U0INSPECT").get("text")
    assert "<@U0INSPECT>: inspector (granted by <@U0ADMIN>" in listing


def test_only_admins_grant(workspace, runtime):
    refused = workspace.command("role <@U0SELF|me> admin", user="U0SELF")
    assert "needs an admin's role" in text_of(refused)
    assert count(runtime, RoleGrant) == 0
    workspace.command("role <@U0REVIEW|rev> reviewer", user=ADMIN)
    refused = workspace.command("role <@U0SELF|me> admin", user="U0REVIEW")
    assert "yours is reviewer" in text_of(refused)
    assert count(runtime, RoleGrant) == 1
    assert len(history(runtime, "refused")) == 2
    # A granted admin grants too, and `none` takes a role away.
    workspace.command("role <@U0BOSS|boss> admin", user=ADMIN)
    reply = workspace.command("role <@U0REVIEW|rev> none", user="U0BOSS")
    assert "no longer has a role (was reviewer)" in text_of(reply)
    assert [g.user_id for g in _grants(runtime)] == ["U0BOSS"]


def _grants(runtime):
    with runtime.transaction() as session:
        return session.scalars(select(RoleGrant)).all()


@pytest.mark.parametrize(
    "text,expected",
    [
        ("role <@U0X|x> emperor", "I don't know the role `emperor`"),
        ("role <@U0X|x>", "/ciw role @user inspector|reviewer|admin|none"),
        ("role reviewer", "/ciw role @user"),
        ("role <@U0X|x> <@U0Y|y> admin", "/ciw role @user"),
        ("role <@U0ADMIN|a> none", "through the CIW_ADMINS setting"),
    ],
)
def test_bad_grants_are_explained_and_change_nothing(workspace, runtime, text, expected):
    assert expected in text_of(workspace.command(text, user=ADMIN))
    assert count(runtime, RoleGrant) == 0
    assert history(runtime, "grant") == []


def test_others_records_and_authority_details_need_an_admin(workspace, runtime):
    workspace.command("role <@U0A|a> inspector", user=ADMIN)
    workspace.command("role <@U0B|b> inspector", user=ADMIN)
    assert "F1" in workspace.command(FINDING, user="U0A").get("text")
    assert "A1" in workspace.command(ACTIVITY, user="U0A").get("text")

    for command in (
        "edit F1 Someone else's words.",
        "remove F1",
        "remove A1",
        "postpone A1 | not mine",
        "authority wrexham director Somebody Else",
    ):
        refused = text_of(workspace.command(command, user="U0B"))
        assert "needs an admin's role" in refused, command
        assert "yours is inspector" in refused
    with runtime.transaction() as session:
        finding = session.get(Finding, 1)
        assert (finding.text, finding.removed_at) == ("Delays in responding.", None)
        assert session.get(Activity, 1).removed_at is None
    assert len(history(runtime, "refused")) == 5

    # Showing an authority is an inspector's; the owner edits their own; an admin anyone's.
    assert "Wrexham" in text_of(workspace.command("authority wrexham", user="U0B"))
    workspace.command("edit F1 Delays from referral to assessment.", user="U0A")
    workspace.command("remove A1", user=ADMIN)
    with runtime.transaction() as session:
        assert session.get(Finding, 1).text == "Delays from referral to assessment."
        assert session.get(Activity, 1).removed_by == ADMIN


def test_others_notes_and_activities_are_edited_by_their_owner_or_an_admin(workspace, runtime):
    workspace.command("role <@U0A|a> inspector", user=ADMIN)
    workspace.command("role <@U0B|b> inspector", user=ADMIN)
    assert "N1" in text_of(workspace.command("note wrexham 2019-20 plan Our plan.", user="U0A"))
    assert "A1" in workspace.command(ACTIVITY, user="U0A").get("text")
    for command in ("edit N1 Not my words.", "remove N1", "edit A1 title not mine"):
        refused = text_of(workspace.command(command, user="U0B"))
        assert "needs an admin's role" in refused, command
    with runtime.transaction() as session:
        assert session.get(Note, 1).text == "Our plan."
        assert session.get(Activity, 1).title == "focused activity"
    assert "now reads" in text_of(workspace.command("edit N1 Our plan, revised.", user="U0A"))
    assert "title changed" in text_of(workspace.command("edit A1 title visit", user=ADMIN))
    # Someone with no role may not record a note at all.
    refused = text_of(workspace.command("note wrexham 2019-20 plan Mine.", user="U0NOBODY"))
    assert "role" in refused
    assert count(runtime, Note) == 1
