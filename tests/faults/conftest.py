"""Fault injection: a database that refuses or stalls, a Slack that fails, stalls or
rate-limits on demand, forged payloads, two servers and a killed clock.

Every scenario runs on SQLite and, with CIW_TEST_DATABASE_URL, on PostgreSQL. Each test
adds what it counted to `TALLY`; the run ends with one line (tests/conftest.py writes it):
duplicates, lost, forged accepted, which must all be 0 (a test asserts its own counts too).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

TALLY: Counter[str] = Counter()


def tally(**counts: int) -> None:
    """Add a scenario's counts (duplicates, lost, forged_accepted, scenarios)."""
    TALLY.update(counts)
    TALLY["scenarios"] += 1


def pytest_sessionfinish(session: pytest.Session) -> None:
    # A pytest-xdist worker hands its counts to the controller (tests/conftest.py).
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["faults_tally"] = dict(TALLY)


class DatabaseFault:
    """Makes the app's database refuse every statement (as if PostgreSQL refused
    connections) until `up()`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.failing = False
        self.dies_at: tuple[str, int] | None = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "commit", self._commit)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.current_thread().name == "test-admin":
            return
        if self.failing:
            raise OperationalError(statement, None, ConnectionRefusedError("database is down"))
        if self.dies_at and self.dies_at[0] in statement:
            pattern, times = self.dies_at
            self.dies_at = (pattern, times - 1) if times > 1 else None
            raise OperationalError(statement, None, ConnectionResetError("connection lost"))

    def die_at(self, statement: str, times: int = 1) -> None:
        """Lose the connection at the next `times` statements containing `statement`
        (the database dying in the middle of a piece of work)."""
        self.dies_at = (statement, times)

    def _commit(self, conn: Any) -> None:
        # The connection lost at COMMIT: the transaction never happened.
        if self.failing:
            raise OperationalError("COMMIT", None, ConnectionResetError("connection lost"))

    def down(self) -> None:
        self.failing = True

    def up(self) -> None:
        self.failing = False

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "commit", self._commit)


@pytest.fixture
def database(engine: Engine) -> Iterator[DatabaseFault]:
    fault = DatabaseFault(engine)
    yield fault
    fault.remove()


class TableLock:
    """A lock that blocks writes to a table, held from another connection until `release()`
    (or `most` seconds, so a failing test never hangs)."""

    def __init__(self, engine: Engine, table: str, most: float) -> None:
        self.taken = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(
            target=self._hold, args=(engine, table, most), name="test-admin", daemon=True
        )
        self._thread.start()
        self.taken.wait(5)

    def _hold(self, engine: Engine, table: str, most: float) -> None:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            self.taken.set()
            self._release.wait(most)
            connection.rollback()

    @property
    def held(self) -> bool:
        return self.taken.is_set() and self._thread.is_alive()

    def release(self) -> None:
        """Let go of the lock, and wait until it is gone."""
        self._release.set()
        self._thread.join(timeout=15)


@pytest.fixture
def table_lock(engine: Engine):
    """Hold a lock that blocks writes to `table` (PostgreSQL: LOCK TABLE; SQLite: the
    database's write lock), from another connection, until released."""
    locks: list[TableLock] = []

    def hold(table: str, most: float = 30.0) -> TableLock:
        locks.append(TableLock(engine, table, most))
        return locks[-1]

    yield hold
    for lock in locks:
        lock.release()
