"""Whether the database can take a write now (what `/healthz` reports), cheaply enough to
be polled.

A `SELECT 1` answers on a database that refuses every write (a full disk, a read-only file
or replica), so the probe writes: one row into `idempotency_keys` (a key of its own, so two
probes never wait on each other), in a transaction that is rolled back. That meets what
refuses writes (SQLite's read-only file or `query_only`, PostgreSQL's read-only
transactions and hot standbys) and what holds them up for longer than an acknowledgement
may wait (a lock held, a statement stuck), and leaves nothing behind.

A rolled-back write never reaches the disk, and a committed one would not tell either: on
SQLite a commit appends to the write-ahead log, which is reused after each checkpoint, and
PostgreSQL writes into log segments made ahead. So a full disk is asked of what holds the
database: for a SQLite file, the free space of its file system (`os.statvfs`) and whether
the database may still grow (`max_page_count`). PostgreSQL's own disk is not visible from a
connection; when it fills, its statements fail with `disk_full`, or the server stops and
the probe finds it unavailable.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import Any

from sqlalchemy import Connection, Engine, insert
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from db.models import IdempotencyKey

PROBE_MS = 2000  # the longest the probe waits on a lock or a statement
FREE_BELOW = 1 << 20  # a SQLite file system with less free than this is full
PROBE_PREFIX = "health:"

# What refused the write, by SQLite result code or PostgreSQL SQLSTATE.
_SQLITE = {"SQLITE_READONLY": "read-only", "SQLITE_FULL": "full", "SQLITE_BUSY": "busy"}
_SQLSTATE = {
    "25006": "read-only",  # read_only_sql_transaction (a read-only setting, a hot standby)
    "53100": "full",  # disk_full
    "55P03": "busy",  # lock_not_available
    "57014": "busy",  # query_canceled (the statement timeout)
}


def database_state(engine: Engine) -> dict[str, Any]:
    """`{"database": "ok"}` when the database would take a write now; else what is wrong
    ("unavailable", "read-only", "full", "busy") and the error that said so."""
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                full = _sqlite_full(connection, engine)
                if full:
                    return {"database": "full", "error": full}
                return _sqlite_probe(connection)
            return _probe(connection)
    except DBAPIError as error:
        return {"database": _kind(error), "error": _name(error)}
    except SQLAlchemyError as error:  # no connection to be had from the pool in time
        return {"database": "unavailable", "error": type(error).__name__}


def _probe(connection: Connection, *, bounded: bool = True) -> dict[str, Any]:
    # In the connection's own transaction (begun by its first statement), rolled back.
    try:
        if bounded and connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {PROBE_MS}")
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {PROBE_MS}")
        connection.execute(
            insert(IdempotencyKey).values(
                key=f"{PROBE_PREFIX}{uuid.uuid4().hex}", seen_at=dt.datetime.now(dt.UTC)
            )
        )
    finally:
        connection.rollback()
    return {"database": "ok"}


def _sqlite_probe(connection: Connection) -> dict[str, Any]:
    # The pool keeps the connection, and its usual wait for the write lock with it.
    usual = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {PROBE_MS}")
    try:
        return _probe(connection, bounded=False)
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(usual or 0)}")


def _sqlite_full(connection: Connection, engine: Engine) -> str | None:
    """Why a SQLite database cannot grow, if it cannot: its page limit reached with no free
    page left, or its file system (nearly) out of space."""
    pages = connection.exec_driver_sql("PRAGMA page_count").scalar() or 0
    limit = connection.exec_driver_sql("PRAGMA max_page_count").scalar() or 0
    free_pages = connection.exec_driver_sql("PRAGMA freelist_count").scalar() or 0
    if limit and pages >= limit and not free_pages:
        return "SQLITE_FULL"
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    try:
        stats = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return None  # the probe's write says what is wrong
    if stats.f_bavail * stats.f_frsize < FREE_BELOW:
        return "ENOSPC"
    return None


def _kind(error: DBAPIError) -> str:
    original = error.orig
    code = getattr(original, "sqlite_errorname", None)
    if code is not None:
        return next((k for c, k in _SQLITE.items() if code.startswith(c)), "unavailable")
    return _SQLSTATE.get(getattr(original, "sqlstate", None) or "", "unavailable")


def _name(error: DBAPIError) -> str:
    """SQLite's result code (its exceptions are all OperationalError), else the class."""
    original = error.orig
    return getattr(original, "sqlite_errorname", None) or type(original).__name__
