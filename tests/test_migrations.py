"""Alembic migrations: an empty database and one at every earlier revision reach head, every
revision goes down and up again, and a server database at an old revision is refused."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from db.models import Base
from db.session import (
    HEAD_REVISION,
    SchemaOutOfDate,
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    prepare,
    upgrade,
)

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("CIW_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def empty(request, tmp_path) -> Iterator[Engine]:
    """An empty database: a new SQLite file, or a new schema in the PostgreSQL test database
    (the suite's own schema is left alone)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def revisions() -> list[str]:
    """Every revision, oldest first (new migration files are covered without edits here)."""
    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def schema_differences(engine: Engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def test_there_is_one_head_and_the_chain_starts_at_0001():
    assert revisions()[0] == "0001"
    assert revisions()[-1] == head_revision()
    # What a starting process compares the database with, without loading Alembic.
    assert head_revision() == HEAD_REVISION


def test_a_process_starting_on_a_database_at_head_never_loads_alembic(empty):
    if empty.dialect.name != "sqlite":
        pytest.skip("the other process opens the database by its URL alone (no schema)")
    upgrade(empty)
    url = empty.url.render_as_string(hide_password=False)
    script = (
        "import sys\n"
        "from db.session import make_engine, prepare\n"
        f"prepare(make_engine({url!r}))\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'alembic'], 'alembic loaded'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_an_empty_database_upgrades_to_head_matching_the_models(empty):
    assert current_revision(empty) is None
    upgrade(empty)
    assert current_revision(empty) == head_revision()
    assert tables(empty) == set(Base.metadata.tables)
    assert schema_differences(empty) == []


def test_every_revision_goes_down_and_up_and_reaches_head(empty):
    config = alembic_config(empty)
    previous = "base"
    for revision in revisions():
        command.upgrade(config, revision)
        assert current_revision(empty) == revision
        command.downgrade(config, previous)
        assert current_revision(empty) == (None if previous == "base" else previous)
        command.upgrade(config, revision)
        previous = revision
    assert current_revision(empty) == head_revision()
    command.downgrade(config, "base")
    assert tables(empty) == set()
    # A database left at any earlier revision upgrades to head.
    for revision in revisions():
        command.downgrade(config, "base")
        command.upgrade(config, revision)
        command.upgrade(config, "head")
        assert current_revision(empty) == head_revision()
        assert schema_differences(empty) == []


def test_sqlite_upgrades_itself_at_start(empty):
    if empty.dialect.name != "sqlite":
        pytest.skip("only SQLite upgrades itself")
    prepare(empty)
    assert current_revision(empty) == head_revision()


def test_a_server_database_at_an_old_revision_is_refused_with_the_instruction(empty):
    if empty.dialect.name == "sqlite":
        pytest.skip("SQLite upgrades itself")
    config = alembic_config(empty)
    for revision in [None, *revisions()[:-1]]:
        command.downgrade(config, "base") if current_revision(empty) else None
        if revision:
            command.upgrade(config, revision)
        with pytest.raises(SchemaOutOfDate) as refused:
            prepare(empty)
        assert "run `ciw-bot db upgrade`" in str(refused.value)
        assert tables(empty) == (set() if revision is None else tables(empty))
    upgrade(empty)
    prepare(empty)  # at head it starts
