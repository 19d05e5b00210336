"""One activity from Teams as the handlers see it (a `Turn`), and what every handler needs
around it: the domain's synchronous work on the runtime's threads, work left for after the
HTTP answer, and each activity done once.

The SDK answers the Bot Connector only when the handler returns, so a handler stays quick:
a message's command runs after the answer (`Background`); an invoke (a button, a form)
must carry its result in the answer and runs in it, within Teams' five seconds. Database
work never runs on the event loop: what an answer waits for runs on the listeners'
threads (`Turn.sync`), a command's own work on `Runtime.after_ack` (`Turn.work`), so an
answer never waits in a queue behind earlier commands.

A retried or repeated activity is recognised by its id in the database
(`IdempotencyKey`, claimed in the transaction of the work it guards), so it does nothing
twice, in any process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bot.runtime import Runtime
from db.models import IdempotencyKey
from handlers.teams.conversations import Where, where_of

log = logging.getLogger("ciw.teams")

T = TypeVar("T")
PLATFORM = "teams"


class Duplicate(Exception):
    """This activity (or form) was done already, by this process or another."""


def claim(session: Session, key: str, now: dt.datetime) -> None:
    """Keep `key` in the caller's transaction (it commits with the work it guards);
    Duplicate if it was kept before. Two at once: the second's commit fails on the key."""
    if session.get(IdempotencyKey, key) is not None:
        raise Duplicate(key)
    session.add(IdempotencyKey(key=key, seen_at=now))
    session.flush()


def activity_key(conversation_id: str, activity_id: str) -> str:
    """The idempotency key of one activity (its id is unique within its conversation)."""
    digest = hashlib.sha256(f"{conversation_id}\n{activity_id}".encode()).hexdigest()
    return f"teams:activity:{digest[:48]}"


class Recent:
    """Activity keys seen lately by this process: a repeat is dropped before any work."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._seen: dict[str, None] = {}

    def first(self, key: str) -> bool:
        """Remember `key`; False if it was remembered already."""
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self.size:
            self._seen.pop(next(iter(self._seen)))
        return True


class Background:
    """Work left for after the HTTP answer, on the server's event loop; failures logged.
    `drain` waits for what is still running (at shutdown, and in tests)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def start(self, work: Coroutine[Any, Any, Any], what: str) -> None:
        """Run `work` once the current handler has answered."""

        async def guarded() -> None:
            try:
                await work
            except Exception:  # logged with its traceback; nobody else to tell
                log.exception("teams work failed: %s", what)

        task = asyncio.get_running_loop().create_task(guarded())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait (at most `timeout` seconds) for the work still running."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout)


def background(app: Any) -> Background:
    """The App's background work (one per App)."""
    found = getattr(app, "_ciw_background", None)
    if found is None:
        found = Background()
        app._ciw_background = found
    return found


def recent(app: Any) -> Recent:
    """The App's memory of activities seen lately."""
    found = getattr(app, "_ciw_recent", None)
    if found is None:
        found = Recent()
        app._ciw_recent = found
    return found


@dataclass
class Turn:
    """One activity: the runtime and App it reached, the SDK's context, where it came from."""

    runtime: Runtime
    app: Any  # microsoft_teams.apps.App
    ctx: Any  # microsoft_teams.apps.ActivityContext
    where: Where

    @classmethod
    def of(cls, runtime: Runtime, app: Any, ctx: Any) -> Turn:
        return cls(runtime, app, ctx, where_of(ctx))

    @property
    def activity(self) -> Any:
        return self.ctx.activity

    @property
    def api(self) -> Any:
        """The Bot Connector client for this activity's (validated) service URL."""
        return self.ctx.api

    @property
    def key(self) -> str:
        """This activity's idempotency key."""
        return activity_key(self.where.conversation_id, str(self.activity.id or ""))

    async def sync(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on the listeners' threads: quick database work, and the
        domain work an invoke's answer carries."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.runtime.listener_threads, functools.partial(fn, *args, **kwargs)
        )

    async def work(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on the runtime's after-ack threads: a command's work, run
        once the activity has been answered."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.runtime.after_ack, functools.partial(fn, *args, **kwargs)
        )

    def later(self, work: Awaitable[Any], what: str) -> None:
        """Run `work` after this activity has been answered."""
        background(self.app).start(work, what)  # type: ignore[arg-type]

    def first_sighting(self) -> bool:
        """False if this process saw this very activity a moment ago (a retry)."""
        return recent(self.app).first(self.key)
