"""One activity from Teams as the handlers see it (a `Turn`), and what every handler needs
around it: the domain's synchronous work on the runtime's threads, work left for after the
HTTP answer, and each activity done once.

The SDK answers the Bot Connector only when the handler returns, so a handler stays quick:
a message's command runs after the answer (`Turn.later`); an invoke (a button, a form)
must carry its result in the answer and runs in it, within Teams' five seconds. Database
work never runs on the event loop: what an answer waits for runs on the listeners'
threads (`Turn.sync`), a command's own work on `Runtime.after_ack` (`Turn.work`), so an
answer never waits in a queue behind earlier commands.

The work after an answer does not run on the server's event loop either: it goes to the
Teams sender's own loop (`handlers.teams.connector`), a few commands at a time, and calls
Teams through the sender's App. The server's loop only validates activities and answers
them, however many commands are still being answered; and the HTTP client's pool never
holds a long queue (httpcore looks through every waiting request each time a connection
frees: measured, it took most of the loop under load).

A retried or repeated activity is recognised by its id in the database
(`IdempotencyKey`, claimed in the transaction of the work it guards), so it does nothing
twice, in any process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bot.runtime import Runtime
from db.models import IdempotencyKey
from handlers.teams.conversations import Where, where_of
from handlers.teams.outbound import outbound_of

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
    """Work left for after the HTTP answer (running on the Teams sender's loop), followed
    from here: failures logged; `drain` waits for what is still running (at shutdown, and
    in tests)."""

    def __init__(self) -> None:
        self.tasks: set[concurrent.futures.Future[Any]] = set()

    def start(self, work: concurrent.futures.Future[Any], what: str) -> None:
        """Follow `work`, handed over once the current handler has answered."""
        self.tasks.add(work)

        def finished(done: concurrent.futures.Future[Any]) -> None:
            self.tasks.discard(done)
            error = None if done.cancelled() else done.exception()
            if error is not None:  # logged with its traceback; nobody else to tell
                log.error("teams work failed: %s", what, exc_info=error)

        work.add_done_callback(finished)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait (at most `timeout` seconds) for the work still running."""
        if self.tasks:
            await asyncio.wait([asyncio.wrap_future(f) for f in set(self.tasks)], timeout=timeout)


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
    """One activity: the runtime and App it reached, the SDK's context, where it came from.

    After the answer (`later`) the turn is the sender's: its App, a Bot Connector client
    for the activity's validated service URL, and the after-ack threads."""

    runtime: Runtime
    app: Any  # microsoft_teams.apps.App
    ctx: Any  # microsoft_teams.apps.ActivityContext; None once handed over (`later`)
    where: Where
    activity: Any  # the activity (a pydantic model of the SDK's)
    client: Any = None  # the Bot Connector client, when not the activity's own
    threads: ThreadPoolExecutor | None = None  # for `sync`, when not the listeners'

    @classmethod
    def of(cls, runtime: Runtime, app: Any, ctx: Any) -> Turn:
        return cls(runtime, app, ctx, where_of(ctx), ctx.activity)

    @property
    def api(self) -> Any:
        """The Bot Connector client for this activity's (validated) service URL."""
        return self.client if self.client is not None else self.ctx.api

    @property
    def key(self) -> str:
        """This activity's idempotency key."""
        return activity_key(self.where.conversation_id, str(self.activity.id or ""))

    async def sync(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on the listeners' threads (after the answer, the after-ack
        threads): quick database work, and the domain work an invoke's answer carries."""
        loop = asyncio.get_running_loop()
        pool = self.threads or self.runtime.listener_threads
        return await loop.run_in_executor(pool, functools.partial(fn, *args, **kwargs))

    async def work(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on the runtime's after-ack threads: a command's work, run
        once the activity has been answered."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.runtime.after_ack, functools.partial(fn, *args, **kwargs)
        )

    def later(self, make: Callable[[Turn], Awaitable[Any]], what: str) -> None:
        """Run `make(turn)` after this activity has been answered, on the Teams sender's
        event loop, with the turn as the sender's (its App, a client for this activity's
        validated service URL, the after-ack threads)."""
        connector = outbound_of(self.runtime).connector
        # Without the SDK's context: under a burst many wait their turn, and each context
        # is hundreds of objects for the garbage collector to walk again and again.
        handed = replace(self, ctx=None, app=connector.app, threads=self.runtime.after_ack)

        async def away() -> None:
            client = handed.app.api.clone(service_url=handed.where.service_url)
            await make(replace(handed, client=client))

        background(self.app).start(connector.submit(away), what)

    def first_sighting(self) -> bool:
        """False if this process saw this very activity a moment ago (a retry)."""
        return recent(self.app).first(self.key)
