"""The `/ciw` subcommands, shared by every platform: run the one a command's first word names.

Each subcommand is a module here whose docstring is its help text, with `NAME`, the
`ROLE` it needs and `run(command) -> Reply`. A platform's adapter (`handlers.slack.commands`,
`handlers.teams.commands`) parses what the platform sent into the typed text, the person
and the place, and calls `execute`; it renders the `Reply` its own way.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot import logging_setup
from bot.access import roles
from bot.delivery import outbox
from bot.errors import UserError
from bot.runtime import Runtime
from handlers.commands import (
    authority,
    calendar,
    draft_letter,
    edit,
    help,
    issue,
    lifecycle,
    list_records,
    log_activity,
    log_finding,
    note,
    overview,
    progress,
    publish,
    remove,
    role,
    upcoming,
)
from handlers.commands.base import Command, Reply, Surface

log = logging.getLogger("ciw.command")
CLASH_ATTEMPTS = 6

MODULES: list[ModuleType] = [
    help,
    log_activity,
    log_finding,
    note,
    progress,
    list_records,
    upcoming,
    lifecycle,
    edit,
    remove,
    authority,
    draft_letter,
    issue,
    publish,
    overview,
    calendar,
    role,
]


def subcommands() -> dict[str, ModuleType]:
    """Subcommand name → module (a module may serve several names, e.g. lifecycle)."""
    table: dict[str, ModuleType] = {}
    for module in MODULES:
        for name in getattr(module, "NAMES", [module.NAME]):
            table[name] = module
    return table


@dataclass(frozen=True)
class Typed:
    """A command as a platform received it: who, where, and the text after `/ciw`."""

    user_id: str
    channel_id: str
    text: str
    channel_name: str = ""


@dataclass(frozen=True)
class Outcome:
    """What running a command came to: the reply (None: nothing to say, e.g. a form was
    opened) and whether it queued messages that can go out now that it has committed."""

    reply: Reply | None
    queued: bool
    name: str


def split(text: str) -> tuple[str, str]:
    """The subcommand's name (lower case, `help` when nothing was typed) and its arguments."""
    # Any white space ends the subcommand's name: a tab or a new line pasted from notes too.
    name, args = [*text.strip().split(None, 1), "", ""][:2]
    return name.lower() or "help", args.strip()


def execute(
    runtime: Runtime,
    typed: Typed,
    surface: Surface,
    *,
    before: Callable[[Session], None] | None = None,
) -> Outcome:
    """Run the subcommand in one transaction (tried again after a clash with another
    request); bad input comes back as the error's reply with nothing recorded.

    `before` runs first in the same transaction: the platform's own checks (a Slack
    request's replay guard); what it raises, other than UserError, goes to the caller.
    """
    started = time.monotonic()
    name, args = split(typed.text)
    outcome = "ok"
    queued = False
    try:
        for attempt in range(1, CLASH_ATTEMPTS + 1):
            try:
                with runtime.transaction() as session:
                    if before is not None:
                        before(session)
                    reply = dispatch(runtime, session, typed, surface, name, args)
                    queued = outbox.queued(session)
                break
            except (IntegrityError, OperationalError) as error:
                # Another request made the same record at the same moment (a unique key),
                # or SQLite's writer went first: done again from what it left.
                if attempt == CLASH_ATTEMPTS or not _clash(error):
                    raise
                log.info("command retried after a clash", extra={"attempt": attempt})
                time.sleep(random.uniform(0, 0.05 * attempt))  # let the other one finish
    except UserError as error:
        outcome = f"refused:{error.template}"
        reply = Reply(f"errors/{error.template}", error.data)
        queued = False
    except Exception:
        outcome = "error"
        raise
    finally:
        log.info(
            "command",
            extra={
                # Only a name the bot knows: a first word someone typed is theirs to keep.
                "command": f"/ciw {logging_setup.known(name, subcommands())}",
                "user": typed.user_id,
                "platform": surface.platform,
                "ms": round((time.monotonic() - started) * 1000),
                "outcome": outcome,
            },
        )
    return Outcome(reply, queued, name)


def _clash(error: Exception) -> bool:
    if isinstance(error, IntegrityError):
        return True
    text = str(getattr(error, "orig", error)).lower()
    # SQLite: a reader that turned writer after another's commit; PostgreSQL: a lock wait
    # or serialization failure.
    return "locked" in text or "busy" in text or "deadlock" in text or "serializ" in text


def dispatch(
    runtime: Runtime,
    session: Session,
    typed: Typed,
    surface: Surface,
    name: str,
    args: str,
) -> Reply | None:
    """Run one subcommand in the caller's transaction; a UserError rolls everything back."""
    table = subcommands()
    module = table.get(name)
    if module is None:
        raise UserError("unknown_subcommand", name=name, names=sorted(table))
    command = Command(
        runtime=runtime,
        session=session,
        user_id=typed.user_id,
        channel_id=typed.channel_id,
        channel_name=typed.channel_name,
        args=args,
        surface=surface,
    )
    roles.check(
        session,
        user_id=command.user_id,
        needed=roles.required_role(
            session,
            subcommand=name,
            args=args,
            user_id=command.user_id,
            declared=getattr(module, "ROLE", None),
        ),
        subcommand=name,
        admins=runtime.settings.admins,
        now=command.now,
    )
    if getattr(module, "NAMES", None):
        return module.run(command, name)
    return module.run(command)
