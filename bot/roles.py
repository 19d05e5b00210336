"""Who may do what: inspector, reviewer, admin."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from db.models import Role


def check(
    session: Session,
    *,
    user_id: str,
    needed: Role | None,
    subcommand: str,
    admins: frozenset[str],
    now: dt.datetime,
) -> None:
    """Raise UserError if `user_id` may not do what needs `needed` (None: anyone)."""
