"""The review's domain tests: a runtime on a fresh database with the Wrexham demo records."""

from __future__ import annotations

import pytest

from bot.demo import load_demo
from bot.runtime import build_runtime
from bot.settings import Settings
from tests.bot.review.test_final_files import MADE
from tests.conftest import Clock


@pytest.fixture
def domain(engine):
    """The runtime on a fresh database with the Wrexham demo records, and its clock."""
    clock = Clock(MADE)
    runtime = build_runtime(Settings(database_url=str(engine.url)), engine=engine, clock=clock)
    with runtime.transaction() as session:
        load_demo(session, now=MADE)
    return runtime, clock
