"""`log-activity <authority> <service> <when> <title> [--postponed|--cancelled [<reason>]] [| <details>]`: record an activity.
`service` is `children`, `adults` or `both`; `when` is `YYYY-MM-DD` or `DD/MM/YYYY`, a range `DATE..DATE`, the first date optionally with a time `THH:MM`. People @mentioned are the activity's inspectors (you always are). Past dates are recorded as completed, future ones as scheduled; `--postponed` or `--cancelled` (with its reason) before the `|` records one that did not take place. With no arguments, a form opens.
Example: `/ciw log-activity wrexham children 2019-09-24..2019-09-25 focused activity in children's services | to review selected files and records`
Example: `/ciw log-activity wrexham both 2020-03-24 annual performance review meeting --cancelled due to COVID-19`
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.records import activities, authorities, grammar
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "log-activity"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply | None:
    """Record the activity typed, or open the form when nothing was typed."""
    if not command.args.strip():
        command.surface.open_form(command, "activity")
        return None
    parsed = grammar.parse_log_activity(command.args)
    return record(
        command.session,
        parsed,
        actor=command.user_id,
        channel_id=command.channel_id,
        platform=command.platform,
        today=command.today,
        now=command.now,
    )


def record(
    session: Session,
    parsed: grammar.LogActivity,
    *,
    actor: str,
    channel_id: str | None,
    platform: str,
    today: dt.date,
    now: dt.datetime,
) -> Reply:
    """Record a parsed activity and build the reply; the command and the form both use it."""
    authority = authorities.resolve(session, parsed.authority)
    activity = activities.log_activity(
        session,
        authority=authority,
        service=parsed.service,
        when=parsed.when,
        title=parsed.title,
        details=parsed.details,
        inspectors=parsed.inspectors,
        actor=actor,
        channel_id=channel_id or None,
        platform=platform,
        today=today,
        now=now,
        status=parsed.status,
        reason=parsed.reason,
    )
    return Reply(
        "activity_logged", {"activity": activity, "line": activities.letter_line(activity)}
    )
