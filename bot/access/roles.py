"""Who may do what: inspector, reviewer, admin.

- inspector: records activities and findings, edits and moves their own records, sees lists,
  asks for drafts;
- reviewer: also approves or requests changes on drafts;
- admin: also sets authority details, grants roles and changes or removes others' records.

People named in CIW_ADMINS are always admins. While no role has ever been granted every full
member may do everything (a new install works at once); from the first grant on, roles are
enforced and someone without one may only ask for `help`. Every grant and every refusal is
kept in the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, event, exists, func, or_, select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.records import history
from db.models import Activity, Finding, HistoryEntry, Note, Progress, Role, RoleGrant

RANK = {Role.INSPECTOR: 1, Role.REVIEWER: 2, Role.ADMIN: 3}
# The records `edit` and `remove` name by id whose author (`created_by`) may change them.
_WITH_AUTHOR = {"F": Finding, "N": Note, "P": Progress}
SUBJECT = "role"  # history entries about roles: subject "role", subject_id the user


def enforced_clause() -> ColumnElement[bool]:
    """SQL that is true once any role has been granted (for queries that need it inline)."""
    return or_(
        exists().where(RoleGrant.user_id.is_not(None)),
        exists().where(HistoryEntry.subject == SUBJECT, HistoryEntry.action == "grant"),
    )


def enforced(session: Session) -> bool:
    """True once any role has been granted (grants since revoked still count)."""
    return bool(session.scalar(select(enforced_clause())))


def role_of(session: Session, user_id: str, admins: frozenset[str]) -> Role | None:
    """The user's role: admin if named in CIW_ADMINS, else their grant, else None."""
    if user_id in admins:
        return Role.ADMIN
    grant = session.get(RoleGrant, user_id)
    return grant.role if grant is not None else None


def grants(session: Session) -> list[RoleGrant]:
    """Every granted role, admins first, then by user id."""
    rows = session.scalars(select(RoleGrant)).all()
    return sorted(rows, key=lambda g: (-RANK[g.role], g.user_id))


def admin_ids(session: Session, admins: frozenset[str]) -> list[str]:
    """Everyone who is an admin: CIW_ADMINS and granted admins, sorted."""
    granted = session.scalars(select(RoleGrant.user_id).where(RoleGrant.role == Role.ADMIN))
    return sorted(set(admins) | set(granted))


def allows(role: Role | None, needed: Role | None) -> bool:
    """Whether `role` covers `needed` (None: anyone, even without a role)."""
    if needed is None:
        return True
    return role is not None and RANK[role] >= RANK[needed]


def check(
    session: Session,
    *,
    user_id: str,
    needed: Role | None,
    subcommand: str,
    admins: frozenset[str],
    now: dt.datetime,
    strict: bool = False,
) -> None:
    """Raise UserError("not_allowed") if `user_id` may not do what needs `needed` (None: anyone).

    `strict` enforces the role even while no role has been granted, as long as CIW_ADMINS
    names someone: granting roles is theirs from the start. The refusal is written to the
    history in its own transaction once the caller's transaction ends (the refused work
    itself rolls back), so it is kept whatever the caller does with the error.
    """
    if needed is None:
        return
    role = role_of(session, user_id, admins)
    if allows(role, needed):
        return
    if not enforced(session) and not (strict and admins):
        return
    names = admin_ids(session, admins)
    _record_after(
        session,
        actor=user_id,
        subject_id=user_id,
        action="refused",
        at=now,
        changes={
            "subcommand": subcommand,
            "needed": needed.value,
            "role": role.value if role else None,
        },
    )
    raise UserError(
        "not_allowed",
        subcommand=subcommand,
        needed=needed.value,
        role=role.value if role else None,
        admins=names,
    )


def grant(
    session: Session,
    *,
    actor: str,
    user_id: str,
    role: Role | None,
    now: dt.datetime,
    configured_admins: frozenset[str] = frozenset(),
) -> Role | None:
    """Give `user_id` a role (None takes it away), recorded in the history; the old role.

    The last admin keeps their role (UserError): without one nobody could grant roles
    again until an operator edits CIW_ADMINS.
    """
    current = session.get(RoleGrant, user_id, with_for_update=True)
    old = current.role if current is not None else None
    if old is Role.ADMIN and role is not Role.ADMIN and not configured_admins:
        others = session.scalar(
            select(func.count())
            .select_from(RoleGrant)
            .where(RoleGrant.role == Role.ADMIN, RoleGrant.user_id != user_id)
        )
        if not others:
            raise UserError("role_last_admin", user=user_id)
    if role is None:
        if current is not None:
            session.delete(current)
    elif current is None:
        session.add(RoleGrant(user_id=user_id, role=role, granted_by=actor, granted_at=now))
    else:
        current.role, current.granted_by, current.granted_at = role, actor, now
    history.record(
        session,
        actor=actor,
        subject=SUBJECT,
        subject_id=user_id,
        action="grant" if role is not None else "revoke",
        at=now,
        changes={"old": old.value if old else None, "new": role.value if role else None},
    )
    session.flush()
    return old


@dataclass(frozen=True)
class _Pending:
    actor: str
    subject_id: str
    action: str
    at: dt.datetime
    changes: dict


def _record_after(session: Session, **entry: object) -> None:
    """Write a history entry in a transaction of its own after the caller's one ends.

    Written after, not beside: on SQLite a second writer beside an open write transaction
    would wait on the first one, which is waiting on us.
    """
    pending = _Pending(**entry)  # type: ignore[arg-type]
    bind = session.get_bind()
    done = False

    def write(_session: Session) -> None:
        nonlocal done
        if done:
            return
        done = True
        with Session(bind) as own, own.begin():
            history.record(own, subject=SUBJECT, **pending.__dict__)

    event.listen(session, "after_commit", write)
    event.listen(session, "after_rollback", write)


def required_role(
    session: Session, *, subcommand: str, args: str, user_id: str, declared: Role | None
) -> Role | None:
    """The role a `/ciw` subcommand needs for these arguments.

    A module declares the role its subcommand needs (`ROLE`); changing an authority's details
    and touching someone else's record need admin. Arguments that do not parse, or name no
    record, need only the declared role: the subcommand itself then says what was wrong.
    """
    from bot.records import grammar

    try:
        if subcommand == "authority":
            return Role.ADMIN if grammar.parse_authority(args).field else declared
        if subcommand in {"edit", "remove"}:
            if subcommand == "edit":
                edit = grammar.parse_edit(args)
                kind, number = edit.kind, edit.record_id
            else:
                kind, number = grammar.parse_remove(args)
            if kind == "A":
                return _owner_or_admin(_owns_activity(session, number, user_id), declared)
            record = session.get(_WITH_AUTHOR[kind], number)
            return _owner_or_admin(record is None or record.created_by == user_id, declared)
        if subcommand in {"reschedule", "postpone", "cancel", "complete"}:
            number = grammar.parse_lifecycle(args, subcommand).activity_id
            return _owner_or_admin(_owns_activity(session, number, user_id), declared)
    except UserError:
        return declared
    return declared


def _owns_activity(session: Session, activity_id: int, user_id: str) -> bool:
    # The one who logged it and its inspectors may change it; a missing one is not refused here.
    activity = session.get(Activity, activity_id)
    return activity is None or activity.logged_by == user_id or user_id in activity.inspector_ids


def _owner_or_admin(owns: bool, declared: Role | None) -> Role | None:
    return declared if owns else Role.ADMIN
