"""The `/ciw` slash command: acknowledge at once, then run the subcommand its first word names.

Each subcommand is a module here whose docstring is its help text, with `NAME`, the
`ROLE` it needs and `run(command) -> Reply`; a module that owns modals or buttons
also has `register(app)`.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot import pages, roles
from bot.errors import UserError
from bot.reminders import sections
from bot.runtime import Runtime
from handlers.commands import (
    authority,
    calendar,
    draft_letter,
    edit,
    help,
    lifecycle,
    list_records,
    log_activity,
    log_finding,
    note,
    remove,
    role,
    upcoming,
)
from handlers.commands.base import Command, Reply
from handlers.slack import deliveries, failures, middleware

log = logging.getLogger("ciw.command")
CLASH_ATTEMPTS = 6

MODULES: list[ModuleType] = [
    help,
    log_activity,
    log_finding,
    note,
    list_records,
    upcoming,
    lifecycle,
    edit,
    remove,
    authority,
    draft_letter,
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


NEXT_PAGE = "listing_next_page"


def register(app: App) -> None:
    """Listen for `/ciw` (and a listing's "Next page"); register each subcommand's listeners."""
    app.command("/ciw")(handle_ciw)
    app.action(NEXT_PAGE)(handle_next_page)
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


def handle_next_page(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: Any
) -> None:
    """A listing's "Next page" button: that page, answered as if its command were typed."""
    ack()
    runtime: Runtime = context["ciw"]
    action = (body.get("actions") or [{}])[0]
    typed = {
        "user_id": (body.get("user") or {}).get("id", ""),
        "channel_id": (body.get("channel") or {}).get("id", ""),
        "text": str(action.get("value") or ""),  # e.g. "list wrexham 2019-20 page 2"
        "response_url": body.get("response_url"),
    }
    failures.after_ack(
        runtime, typed, respond, lambda: run_command(runtime, typed, respond, client)
    )


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


@dataclass(frozen=True)
class Rendered:
    """A reply as posted: its text, and blocks when it needs a button (a listing's pages)."""

    text: str
    blocks: list[dict[str, Any]] | None = None


def render(runtime: Runtime, reply: Reply) -> Rendered:
    """A reply's text; of a listing, the one page asked for (see `bot.pages`), with a
    "Next page" button under every page but the last."""
    text = runtime.templates.message(reply.template, **reply.data)
    if reply.page is None:
        return Rendered(text)
    found = pages.page_of(text, reply.page)
    if found is None:
        total = pages.count(text)
        return Rendered(
            runtime.templates.message(
                "errors/no_such_page", page=reply.page, total=total, command=reply.command
            )
        )
    data = {"number": found.number, "total": found.total, "command": reply.command}
    text = runtime.templates.message("page", body=found.text, **data)
    if found.number >= found.total:
        return Rendered(text)
    button = {
        "type": "button",
        "action_id": NEXT_PAGE,
        "text": {"type": "plain_text", "text": runtime.templates.message("page_button", **data)},
        # The command without `/ciw `, as the typed text reaches `run_command`.
        "value": f"{reply.command.removeprefix('/ciw ')} page {found.number + 1}",
    }
    return Rendered(text, [*sections(text), {"type": "actions", "elements": [button]}])


def send(runtime: Runtime, respond: Respond, reply: Reply | None) -> None:
    """Post a reply, ephemerally, through the command's response_url."""
    if reply is None:
        return
    rendered = render(runtime, reply)
    respond(
        text=rendered.text,
        blocks=rendered.blocks,
        response_type="ephemeral",
        replace_original=False,
    )
