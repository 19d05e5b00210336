"""Who someone is, as the Bot Connector says (`GET /v3/conversations/{id}/members/{id}`):
their Entra object id (`aadObjectId`, the person's id everywhere in the domain: roles,
CIW_ADMINS, inspectors, history), their Teams id (`29:…`, what a personal chat is
created with), and `userRole` (user, guest, anonymous).

Answers are kept in `TeamsMember` and trusted for a few minutes; when Teams cannot answer,
one up to a day old still serves. Guests, anonymous users and people of another tenant
are refused everything (`Person.allowed`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.errors import UserError
from bot.runtime import Runtime
from db.models import TeamsMember

log = logging.getLogger("ciw.teams")

FRESH = dt.timedelta(minutes=5)
STALE = dt.timedelta(days=1)
LOOKUP_SECONDS = 3.0  # an invoke has 5 s in all
USER = "user"
REFUSED_ROLES = {"guest", "anonymous"}
ENTRA_ID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Person:
    """Someone in Teams, as far as the bot needs to know."""

    user_id: str  # Entra object id
    teams_id: str  # 29:…
    name: str | None
    role: str | None  # Teams' userRole
    tenant_id: str

    def allowed(self, tenant_id: str) -> bool:
        """A full member of the bot's own tenant (not a guest, not anonymous)."""
        return (
            bool(self.user_id)
            and (self.role or USER) not in REFUSED_ROLES
            and self.tenant_id in ("", tenant_id)
        )

    @classmethod
    def of(cls, row: TeamsMember) -> Person:
        return cls(row.user_id, row.teams_id, row.name, row.user_role, row.tenant_id)


class Unverified(Exception):
    """Teams could not say who this is just now (and nothing remembered serves)."""


class NotMember(Exception):
    """Teams says this account is not a member of the conversation."""


def _remembered(runtime: Runtime, teams_id: str) -> tuple[Person, dt.datetime] | None:
    with runtime.transaction() as session:
        row = session.scalars(
            select(TeamsMember)
            .where(TeamsMember.teams_id == teams_id)
            .order_by(TeamsMember.checked_at.desc())
        ).first()
        return (Person.of(row), row.checked_at) if row is not None else None


def _keep(runtime: Runtime, person: Person) -> None:
    for attempt in (1, 2):
        try:
            with runtime.transaction() as session:
                row = session.get(TeamsMember, person.user_id)
                if row is None:
                    row = TeamsMember(user_id=person.user_id)
                    session.add(row)
                row.teams_id = person.teams_id
                row.name = (person.name or None) and person.name[:200]
                row.user_role = person.role
                row.tenant_id = person.tenant_id
                row.checked_at = runtime.now()
            return
        except IntegrityError:
            # Another lookup of this person (two of their commands at once) stored them a
            # moment before: what we were told is written over it.
            if attempt == 2:
                raise


async def look_up(turn: Any, teams_id: str) -> Person:
    """The member `teams_id` of the turn's conversation: remembered if fresh, else asked.

    NotMember when Teams says they are not in it; Unverified when Teams cannot answer and
    nothing remembered (up to a day old) serves."""
    runtime: Runtime = turn.runtime
    remembered = await turn.sync(_remembered, runtime, teams_id)
    now = runtime.now()
    if remembered is not None and now - remembered[1] < FRESH:
        return remembered[0]
    base = turn.where.conversation_id.partition(";messageid=")[0]
    try:
        member = await asyncio.wait_for(
            turn.api.conversations.get_member_by_id(base, teams_id), LOOKUP_SECONDS
        )
    except httpx.HTTPStatusError as error:
        if error.response.status_code == 404:
            raise NotMember(teams_id) from None
        member = None
        log.warning("teams member lookup refused: %s", error.response.status_code)
    except (httpx.HTTPError, TimeoutError, OSError) as error:
        member = None
        log.warning("teams member lookup failed: %s", type(error).__name__)
    if member is None:
        if remembered is not None and now - remembered[1] < STALE:
            return remembered[0]
        raise Unverified(teams_id)
    person = Person(
        user_id=member.aad_object_id or "",
        teams_id=member.id or teams_id,
        name=member.name,
        role=member.user_role,
        tenant_id=member.tenant_id or turn.where.tenant_id,
    )
    if person.user_id:
        await turn.sync(_keep, runtime, person)
    return person


async def sender(turn: Any) -> Person:
    """The person who sent this activity (their membership of its conversation asked)."""
    return await look_up(turn, turn.activity.from_.id)


async def mentioned(turn: Any, account: Any) -> Person:
    """A person @mentioned in the activity: asked of its conversation, else what the bot
    knows of them, else the mention's own object id; UserError when none says who."""
    try:
        return await look_up(turn, account.id)
    except (NotMember, Unverified):
        remembered = await turn.sync(_remembered, turn.runtime, account.id)
        if remembered is not None:
            return remembered[0]
        if account.aad_object_id and ENTRA_ID.fullmatch(account.aad_object_id):
            return Person(
                account.aad_object_id, account.id, account.name, None, turn.where.tenant_id
            )
    raise UserError("teams_bad_user", value=account.name or account.id)


def guest_refusal(*, unverified: bool) -> UserError:
    """Slack's refusal of guests (`errors/guest`), in Teams' words."""
    return UserError("guest", unverified=unverified, platform="teams")


async def checked_sender(turn: Any) -> Person | UserError:
    """The sender if they may use the bot, else the refusal to give them: guests,
    anonymous users, people of another tenant or not in the conversation, and anyone
    Teams cannot vouch for just now."""
    try:
        person = await sender(turn)
    except NotMember:
        return guest_refusal(unverified=False)
    except Unverified:
        return guest_refusal(unverified=True)
    if not person.allowed(turn.where.tenant_id):
        log.info("teams guest refused", extra={"outcome": "refused:guest"})
        return guest_refusal(unverified=False)
    return person
