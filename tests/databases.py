"""PostgreSQL databases of their own beside the one a setting names, for the suite's
workers and the benchmarks (each empties its database, which would cut another's), and
how one is emptied."""

from __future__ import annotations

from sqlalchemy import Engine, make_url, text

from db.session import make_engine, upgrade


def beside(url: str, suffix: str) -> str:
    """The URL of the database `<name>_<suffix>` on the server `url` names, created if
    missing."""
    mine = make_url(url).set(database=f"{make_url(url).database}_{suffix}")
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        found = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": mine.database}
        )
        if not found:
            connection.execute(text(f'CREATE DATABASE "{mine.database}"'))
    admin.dispose()
    return mine.render_as_string(hide_password=False)


def emptied(url: str) -> Engine:
    """An engine on the PostgreSQL database `url`, emptied and migrated (its schema dropped
    and made again; the migration seeds the 22 authorities)."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    return engine
