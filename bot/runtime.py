"""What every listener and job needs: settings, database, templates, clock, and the chat
platforms this process serves (each registered by its adapter as a `Platform`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.answering import Answering
from bot.errors import UserError
from bot.render import Templates
from bot.settings import Settings
from db.models import UnstorableText
from db.session import CLOCK_KEY, OFFICE_TZ_KEY, session_factory, transaction

# Few threads on purpose: they share one interpreter lock with the threads that ack new
# requests, and more of them slow every ack (bench/bench_ack.py: p99 1.7x a bare Bolt app's
# with 3 threads, 2.1x with 4, 4.7x with Bolt's own pool doing the work).
AFTER_ACK_THREADS = 3


class Platform(Protocol):
    """What the core asks of a chat platform's adapter (`handlers.slack`, `handlers.teams`)."""

    name: str

    def send_due(self, runtime: Runtime, now: dt.datetime, *, kinds: Any = None) -> Any:
        """Send this platform's outbox rows due by `now`; a report with `sent`, `failed`,
        `dropped`, `skipped` and `found` counts."""

    def kick(self, runtime: Runtime) -> None:
        """Wake this process's sender: rows were just committed."""

    def draft_parts(self, runtime: Runtime, session: Session, draft: Any, version: Any) -> int:
        """How many messages a draft version's text takes on this platform."""


class PlatformMissing(RuntimeError):
    """A record names a platform this process was not configured for."""


def system_clock() -> dt.datetime:
    """The real time, UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    """Shared by the app's listeners, the clock and the shell; built once per process."""

    settings: Settings
    engine: Engine
    templates: Templates
    clock: Callable[[], dt.datetime] = system_clock
    platforms: dict[str, Platform] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self.sessions.configure(info={OFFICE_TZ_KEY: self.settings.tz, CLOCK_KEY: self.clock})
        self._after_ack: ThreadPoolExecutor | None = None
        self._listeners: ThreadPoolExecutor | None = None
        self._closers: list[Callable[[], None]] = []
        # The requests being answered: the work after earlier answers waits for a pause.
        self.answering = Answering()

    def add_platform(self, platform: Platform) -> None:
        """Serve a platform from this runtime: its sender, its rendering of drafts."""
        self.platforms[platform.name] = platform

    def platform(self, name: str) -> Platform:
        """The adapter of a platform this process serves."""
        try:
            return self.platforms[name]
        except KeyError:
            raise PlatformMissing(
                f"{name} is not configured in this process (set its settings)"
            ) from None

    def kick(self) -> None:
        """Wake every platform's sender: something was just committed to the outbox."""
        for platform in list(self.platforms.values()):
            platform.kick(self)

    def on_shutdown(self, close: Callable[[], None]) -> None:
        """Call `close` at `shutdown`, after the listeners and their work have finished."""
        self._closers.append(close)

    @property
    def after_ack(self) -> ThreadPoolExecutor:
        """The threads that do a command's work once the platform has its acknowledgement.

        Kept apart from Bolt's listener threads so a new request's ack never waits in a
        queue behind earlier commands' work; what is handed to them waits for a pause in
        the requests (`bot.answering`).
        """
        if self._after_ack is None:
            self._after_ack = ThreadPoolExecutor(
                max_workers=AFTER_ACK_THREADS, thread_name_prefix="ciw-work"
            )
        return self._after_ack

    @property
    def listener_threads(self) -> ThreadPoolExecutor:
        """The threads a platform's listeners run on (acks, buttons, forms, events)."""
        if self._listeners is None:
            self._listeners = ThreadPoolExecutor(max_workers=5, thread_name_prefix="ciw-listener")
        return self._listeners

    def shutdown(self) -> None:
        """Let the listeners and the work after their acks finish (tests, orderly exits)."""
        for pool in (self._listeners, self._after_ack):
            if pool is not None:
                pool.shutdown(wait=True)
        while self._closers:
            self._closers.pop()()

    def now(self) -> dt.datetime:
        """Now, UTC."""
        return self.clock()

    def today(self) -> dt.date:
        """Today's date in the office time zone."""
        return self.now().astimezone(self.settings.tz).date()

    def office_time(self, day: dt.date, at: dt.time) -> dt.datetime:
        """A wall-clock time in the office, as UTC."""
        return dt.datetime.combine(day, at, tzinfo=self.settings.tz).astimezone(dt.UTC)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One session for one request or job: committed at the end, rolled back on error."""
        try:
            with transaction(self.sessions) as session:
                yield session
        except UnstorableText:
            # The schema's own refusal of typed text, answered like any bad input.
            raise UserError("bad_character") from None


def build_runtime(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], dt.datetime] = system_clock,
) -> Runtime:
    """The runtime on this database (migrated if SQLite, else checked at head), with no
    platform yet: each adapter adds its own."""
    from db.session import make_engine, prepare

    engine = engine or make_engine(settings.database_url)
    prepare(engine)
    return Runtime(settings=settings, engine=engine, templates=Templates(), clock=clock)
