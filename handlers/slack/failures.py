"""What happens when a listener fails: logged with its traceback, the user told politely."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError

from bot import logging_setup
from bot.errors import UserError
from bot.runtime import Runtime
from handlers.slack import text as slack_text

log = logging.getLogger("ciw.app")


def refuse(runtime: Runtime, respond: Any, error: UserError) -> None:
    """Answer a refused click privately with its error template, leaving the message as is."""
    respond(
        text=slack_text.templates(runtime).message(f"errors/{error.template}", **error.data),
        response_type="ephemeral",
        replace_original=False,
    )


def report(runtime: Runtime, error: BaseException, body: dict[str, Any], respond: Any) -> None:
    """Log a listener's failure with its traceback and answer the person who acted."""
    what = body.get("command") or body.get("type") or (body.get("event") or {}).get("type")
    log.error(
        "listener failed for %s", logging_setup.shaped(what, logging_setup.NAME), exc_info=error
    )
    if respond is None or not (body.get("response_url") or body.get("command")):
        return
    template = "errors/database_unavailable" if isinstance(error, DBAPIError) else "errors/internal"
    try:
        respond(
            text=slack_text.templates(runtime).message(template),
            response_type="ephemeral",
            replace_original=False,
        )
    except Exception:
        log.exception("could not tell the user about the failure")


def after_ack(
    runtime: Runtime, body: dict[str, Any], respond: Any, work: Callable[[], None]
) -> None:
    """Run `work` on the runtime's after-ack threads once no request is being answered
    (`bot.answering`: at most a few seconds later); a failure goes to `report`."""

    def job() -> None:
        runtime.answering.pause()
        try:
            work()
        except Exception as error:  # noqa: BLE001 - reported with its traceback, like any listener's
            report(runtime, error, body, respond)

    runtime.after_ack.submit(job)
