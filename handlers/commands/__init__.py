"""The `/ciw` slash command: acknowledge at once, then run the subcommand its first word names.

Each subcommand is a module here whose docstring is its help text, with `NAME`, the
`ROLE` it needs and `run(command) -> Reply`; a module that owns modals or buttons
also has `register(app)`.
"""

from __future__ import annotations

import logging
import random
import time
from types import ModuleType
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot import deliveries, roles
from bot.errors import UserError
from bot.runtime import Runtime
from handlers import failures, middleware
from handlers.commands import (
    authority,
    draft_letter,
    edit,
    help,
    lifecycle,
    list_records,
    log_activity,
    log_finding,
    remove,
    role,
    upcoming,
)
from handlers.commands.base import Command, Reply

log = logging.getLogger("ciw.command")
CLASH_ATTEMPTS = 6

MODULES: list[ModuleType] = [
    help,
    log_activity,
    log_finding,
    list_records,
    upcoming,
    lifecycle,
    edit,
    remove,
    authority,
    draft_letter,
    role,
]


def subcommands() -> dict[str, ModuleType]:
    """Subcommand name → module (a module may serve several names, e.g. lifecycle)."""
    table: dict[str, ModuleType] = {}
    for module in MODULES:
        for name in getattr(module, "NAMES", [module.NAME]):
            table[name] = module
    return table


def register(app: App) -> None:
    """Listen for `/ciw` and register each subcommand's own listeners."""
    app.command("/ciw")(handle_ciw)
    for module in MODULES:
        if hasattr(module, "register"):
            module.register(app)


def handle_ciw(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: Any
) -> None:
    """Acknowledge at once; the subcommand runs after the ack (see `run_command`)."""
    ack()
    runtime: Runtime = context["ciw"]
    failures.after_ack(runtime, body, respond, lambda: run_command(runtime, body, respond, client))


def run_command(
    runtime: Runtime, body: dict[str, Any], respond: Respond, client: WebClient
) -> None:
    """Run the subcommand in one transaction and reply (ephemeral unless it says otherwise)."""
    started = time.monotonic()
    text = (body.get("text") or "").strip()
    # Any white space ends the subcommand's name: a tab or a new line pasted from notes too.
    name, args = [*text.split(None, 1), "", ""][:2]
    name = name.lower() or "help"
    outcome = "ok"
    announced = False
    try:
        for attempt in range(1, CLASH_ATTEMPTS + 1):
            try:
                with runtime.transaction() as session:
                    reply = dispatch(runtime, session, client, body, name, args.strip())
                    announced = deliveries.queued(session)
                break
            except (IntegrityError, OperationalError) as error:
                # Another request made the same record at the same moment (a unique key),
                # or SQLite's writer went first: done again from what it left.
                if attempt == CLASH_ATTEMPTS or not _clash(error):
                    raise
                log.info("command retried after a clash", extra={"attempt": attempt})
                time.sleep(random.uniform(0, 0.05 * attempt))  # let the other one finish
    except middleware.Replayed:
        outcome = "replay"
        log.warning("replayed command refused", extra={"outcome": "replay"})
        return
    except UserError as error:
        outcome = f"refused:{error.template}"
        reply = Reply(f"errors/{error.template}", error.data)
    finally:
        log.info(
            "command",
            extra={
                "command": f"/ciw {name}",
                "user": body.get("user_id"),
                "ms": round((time.monotonic() - started) * 1000),
                "outcome": outcome,
            },
        )
    send(runtime, respond, reply)
    if announced:
        # What the subcommand queued goes out now that its transaction has committed.
        deliveries.kick(runtime)


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
    client: WebClient,
    body: dict[str, Any],
    name: str,
    args: str,
) -> Reply:
    """Run one subcommand in the caller's transaction; a UserError rolls everything back."""
    middleware.claim_signature(session, body)  # a replay, in any process, does nothing
    middleware.confirm_member(runtime, client, body)  # when the ack could not check them
    table = subcommands()
    module = table.get(name)
    if module is None:
        raise UserError("unknown_subcommand", name=name, names=sorted(table))
    command = Command(
        runtime=runtime,
        session=session,
        client=client,
        user_id=body["user_id"],
        channel_id=body.get("channel_id", ""),
        channel_name=body.get("channel_name", ""),
        args=args,
        trigger_id=body.get("trigger_id"),
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


def send(runtime: Runtime, respond: Respond, reply: Reply | None) -> None:
    """Post a reply, ephemerally, through the command's response_url."""
    if reply is None:
        return
    text = runtime.templates.message(reply.template, **reply.data)
    respond(
        text=text,
        response_type="ephemeral",
        replace_original=False,
    )
