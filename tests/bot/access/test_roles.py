"""Roles in the domain: who may do what, grants and refusals kept in the history."""

import datetime as dt

import pytest
from sqlalchemy import select

from bot.access import roles
from bot.errors import UserError
from bot.records import history
from db.models import (
    Activity,
    ActivityStatus,
    Finding,
    FindingKind,
    HistoryEntry,
    Principle,
    Progress,
    Role,
    RoleGrant,
    Service,
)
from db.session import session_factory, transaction

NOW = dt.datetime(2020, 3, 2, 10, 0, tzinfo=dt.UTC)
ADMINS = frozenset({"U0ADMIN"})


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


def check(sessions, user, needed, *, admins=ADMINS, strict=False):
    with transaction(sessions) as session:
        roles.check(
            session,
            user_id=user,
            needed=needed,
            subcommand="log-activity",
            admins=admins,
            now=NOW,
            strict=strict,
        )


def grant(sessions, user, role, actor="U0ADMIN"):
    with transaction(sessions) as session:
        return roles.grant(session, actor=actor, user_id=user, role=role, now=NOW)


def refusals(sessions):
    with transaction(sessions) as session:
        return session.scalars(select(HistoryEntry).where(HistoryEntry.action == "refused")).all()


def test_before_any_grant_everyone_may_do_everything(sessions):
    for needed in (None, Role.INSPECTOR, Role.REVIEWER, Role.ADMIN):
        check(sessions, "U0ANYONE", needed)
    assert refusals(sessions) == []


def test_granting_while_open_is_for_the_configured_admins_when_there_are_any(sessions):
    with pytest.raises(UserError) as refused:
        check(sessions, "U0ANYONE", Role.ADMIN, strict=True)
    assert refused.value.template == "not_allowed"
    assert refused.value.data["admins"] == ["U0ADMIN"]
    check(sessions, "U0ADMIN", Role.ADMIN, strict=True)
    # With nobody configured, the first grant is anyone's (a new install must be able to start).
    check(sessions, "U0ANYONE", Role.ADMIN, admins=frozenset(), strict=True)


def test_after_the_first_grant_roles_rank_inspector_reviewer_admin(sessions):
    grant(sessions, "U0INSPECT", Role.INSPECTOR)
    grant(sessions, "U0REVIEW", Role.REVIEWER)
    grant(sessions, "U0BOSS", Role.ADMIN)
    check(sessions, "U0INSPECT", Role.INSPECTOR)
    check(sessions, "U0REVIEW", Role.REVIEWER)
    check(sessions, "U0BOSS", Role.ADMIN)
    check(sessions, "U0ADMIN", Role.ADMIN)  # CIW_ADMINS need no grant
    check(sessions, "U0NOBODY", None)  # help
    for user, needed in [
        ("U0INSPECT", Role.REVIEWER),
        ("U0REVIEW", Role.ADMIN),
        ("U0NOBODY", Role.INSPECTOR),
    ]:
        with pytest.raises(UserError) as refused:
            check(sessions, user, needed)
        assert refused.value.data["needed"] == needed.value
        assert refused.value.data["admins"] == ["U0ADMIN", "U0BOSS"]
    assert [(r.actor, r.changes["needed"]) for r in refusals(sessions)] == [
        ("U0INSPECT", "reviewer"),
        ("U0REVIEW", "admin"),
        ("U0NOBODY", "inspector"),
    ]


def test_revoking_every_role_does_not_open_everything_again(sessions):
    grant(sessions, "U0INSPECT", Role.INSPECTOR)
    assert grant(sessions, "U0INSPECT", None) == Role.INSPECTOR
    with transaction(sessions) as session:
        assert session.scalars(select(RoleGrant)).all() == []
        assert roles.enforced(session)
    with pytest.raises(UserError):
        check(sessions, "U0INSPECT", Role.INSPECTOR)


def test_grants_are_in_the_history(sessions):
    grant(sessions, "U0INSPECT", Role.INSPECTOR)
    grant(sessions, "U0INSPECT", Role.REVIEWER)
    grant(sessions, "U0INSPECT", None)
    with transaction(sessions) as session:
        entries = history.for_subjects(session, "role", [])  # empty list → nothing
        assert entries == {}
        rows = session.scalars(
            select(HistoryEntry).where(HistoryEntry.subject == "role").order_by(HistoryEntry.id)
        ).all()
    assert [(r.action, r.changes) for r in rows] == [
        ("grant", {"old": None, "new": "inspector"}),
        ("grant", {"old": "inspector", "new": "reviewer"}),
        ("revoke", {"old": "reviewer", "new": None}),
    ]
    assert {r.actor for r in rows} == {"U0ADMIN"}


def test_refusal_is_kept_though_the_refused_work_rolls_back(sessions):
    grant(sessions, "U0INSPECT", Role.INSPECTOR)
    with pytest.raises(UserError), transaction(sessions) as session:
        # Work done before the check in the same transaction is rolled back with it…
        history.record(
            session,
            actor="U0INSPECT",
            subject="authority",
            subject_id="x",
            action="set director",
            at=NOW,
        )
        session.flush()
        roles.check(
            session,
            user_id="U0INSPECT",
            needed=Role.ADMIN,
            subcommand="authority",
            admins=ADMINS,
            now=NOW,
        )
    with transaction(sessions) as session:
        actions = session.scalars(select(HistoryEntry.action).order_by(HistoryEntry.id)).all()
    # …and the refusal is written on its own afterwards.
    assert actions == ["grant", "refused"]


def test_refusal_is_kept_when_the_caller_commits_anyway(sessions):
    grant(sessions, "U0INSPECT", Role.INSPECTOR)
    with transaction(sessions) as session, pytest.raises(UserError):
        roles.check(
            session,
            user_id="U0INSPECT",
            needed=Role.REVIEWER,
            subcommand="approve",
            admins=ADMINS,
            now=NOW,
        )
    assert [r.changes["subcommand"] for r in refusals(sessions)] == ["approve"]


def _activity(session, logged_by, inspectors=()):
    from bot.records.authorities import resolve
    from db.models import ActivityInspector

    activity = Activity(
        authority=resolve(session, "wrexham"),
        service=Service.CHILDREN,
        title="meeting",
        start_date=dt.date(2020, 4, 1),
        end_date=dt.date(2020, 4, 1),
        status=ActivityStatus.SCHEDULED,
        logged_by=logged_by,
        inspectors=[ActivityInspector(user_id=u) for u in inspectors],
    )
    session.add(activity)
    session.flush()
    return activity


def test_required_role_for_others_records_and_authority_changes(sessions):
    with transaction(sessions) as session:
        mine = _activity(session, "U0ME")
        shared = _activity(session, "U0OTHER", inspectors=["U0ME"])
        theirs = _activity(session, "U0OTHER")
        finding = Finding(
            authority=mine.authority,
            review_year=2019,
            principle=Principle.PEOPLE,
            kind=FindingKind.STRENGTH,
            text="good",
            created_by="U0OTHER",
        )
        session.add(finding)
        session.flush()

        def need(subcommand, args):
            return roles.required_role(
                session, subcommand=subcommand, args=args, user_id="U0ME", declared=Role.INSPECTOR
            )

        assert need("authority", "wrexham") == Role.INSPECTOR
        assert need("authority", "wrexham director Alwyn Jones") == Role.ADMIN
        assert need("remove", f"A{mine.id}") == Role.INSPECTOR
        assert need("postpone", f"A{shared.id} | flu") == Role.INSPECTOR
        assert need("remove", f"A{theirs.id}") == Role.ADMIN
        assert need("cancel", f"A{theirs.id}") == Role.ADMIN
        assert need("edit", f"F{finding.id} better text") == Role.ADMIN
        assert need("remove", f"F{finding.id}") == Role.ADMIN
        # Progress is its author's to change, like a finding.
        for author, needed in (("U0OTHER", Role.ADMIN), ("U0ME", Role.INSPECTOR)):
            answer = Progress(
                authority_id=mine.authority_id,
                finding=finding,
                review_year=2020,
                text="better",
                created_by=author,
            )
            session.add(answer)
            session.flush()
            assert need("edit", f"P{answer.id} better still") == needed
            assert need("remove", f"P{answer.id}") == needed
        # Bad or unknown ids need only the declared role: the command says what is wrong.
        assert need("remove", "A999") == Role.INSPECTOR
        assert need("edit", "nonsense") == Role.INSPECTOR
        assert need("log-activity", "anything") == Role.INSPECTOR
