"""`log-finding <authority> [<year>] <principle> <strength|improvement> [<service>] [A<id>] <text>`: record a finding.
`principle` is `well-being`, `people`, `prevention` or `partnerships`; `year` is a review year such as `2019-20` (default: the linked activity's, else the current one). With no arguments, a form opens.
Example: `/ciw log-finding wrexham 2019-20 prevention improvement adults The CMHT inspection identified delays in responding to people.`
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.records import activities, authorities, findings, grammar
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "log-finding"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply | None:
    """Record the finding typed, or open the form when nothing was typed."""
    if not command.args.strip():
        command.surface.open_form(command, "finding")
        return None
    parsed = grammar.parse_log_finding(command.args)
    return record(
        command.session, parsed, actor=command.user_id, today=command.today, now=command.now
    )


def record(
    session: Session, parsed: grammar.LogFinding, *, actor: str, today: dt.date, now: dt.datetime
) -> Reply:
    """Record a parsed finding and build the reply; the command and the form both use it."""
    authority = authorities.resolve(session, parsed.authority)
    activity = (
        activities.get_activity(session, parsed.activity_id)
        if parsed.activity_id is not None
        else None
    )
    finding = findings.log_finding(
        session,
        authority=authority,
        year=parsed.year,
        principle=parsed.principle,
        kind=parsed.kind,
        service=parsed.service,
        activity=activity,
        text=parsed.text,
        actor=actor,
        today=today,
        now=now,
    )
    return Reply("finding_logged", {"finding": finding})
