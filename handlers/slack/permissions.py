"""The role check every button and form makes, with the runtime's admins and clock."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.access import roles
from bot.runtime import Runtime
from db.models import Role


def require(
    runtime: Runtime, session: Session, user_id: str, needed: Role | None, action: str
) -> None:
    """Raise UserError (and record the refusal) unless `user_id` may do `action`."""
    roles.check(
        session,
        user_id=user_id,
        needed=needed,
        subcommand=action,
        admins=runtime.settings.admins,
        now=runtime.now(),
    )
