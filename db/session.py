"""Engines, sessions and the schema's state (Alembic) for every entry point."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision: the schema these models expect. Kept equal to Alembic's
# head by tests/test_migrations.py, so a process starting on a database at head never
# loads Alembic (~11 MB it would keep for nothing).
HEAD_REVISION = "0009"


class SchemaOutOfDate(Exception):
    """The database is not at the newest migration."""


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain PostgreSQL URLs (the driver this project installs)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: object) -> Engine:
    """An engine that survives a database restart and lets SQLite serve several threads."""
    url = normalise_url(url)
    # Statement parameters hold finding text: keep them out of error messages and logs.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


# Session.info key: domain hooks that get only a Session (reminder planning) read the
# office time zone from it (set by `bot.runtime.Runtime`).
OFFICE_TZ_KEY = "office_tz"
# Session.info key: the runtime's clock, for hooks that stamp changes (an activity's revision).
CLOCK_KEY = "clock"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """The sessionmaker every request and job opens its one session from."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session, committed when the block ends normally, rolled back otherwise."""
    with factory() as session, session.begin():
        yield session


def serialise_writes(session: Session) -> None:
    """On SQLite, take the database's write lock now (BEGIN IMMEDIATE) for the rest of the
    caller's transaction, so what it reads next cannot be changed by another writer before
    it commits. PostgreSQL needs nothing here: its callers lock the rows they read.

    Python's sqlite3 begins a transaction only at the first write, so until then each
    read sees whatever was last committed and two read-then-write transactions both act on
    the same old state. Once a transaction has written it already holds the lock.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    dbapi = connection.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(engine: Engine) -> Config:
    """Alembic configured in code (no ini file) to run on this engine."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration's revision id, as Alembic reads it from the migrations."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://")))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database (read as Alembic
    keeps it: one row in `alembic_version`)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def prepare(engine: Engine) -> None:
    """Make the schema usable: SQLite upgrades itself, other databases must be at head."""
    current = current_revision(engine)
    if current == HEAD_REVISION:
        return
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    raise SchemaOutOfDate(
        f"the database schema is at {current or 'nothing'}, not {HEAD_REVISION}: "
        "run `ciw-bot db upgrade` first"
    )
