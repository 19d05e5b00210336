"""Fixtures: a fresh database (SQLite, and PostgreSQL when CIW_TEST_DATABASE_URL is set),
a fake Slack on loopback, and the app served by the production server on loopback.

Tests drive time rather than wait it out: the senders' pacers skip ahead on `TIME` (in which
the fakes measure their rate limits, so a pacer going too fast is still refused) and the
after-ack pause is zero, unless a test is marked `pauses`."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, insert, select, text

from bot import answering
from bot.runtime import Runtime
from bot.settings import Settings
from db.models import Authority
from db.session import make_engine, upgrade
from handlers.serve import Served
from handlers.slack import deliveries
from handlers.slack.app import create_app, runtime_of
from handlers.slack.double import Call, FakeSlack, SignedRequests
from handlers.slack.server import wsgi_app
from handlers.teams import outbound, pacing

SIGNING_SECRET = "test-signing-secret"


def _database_of_this_worker() -> None:
    """Under pytest-xdist each worker runs on a PostgreSQL database of its own beside the
    one CIW_TEST_DATABASE_URL names (`<name>_gw0`, …; created if missing): the suite
    empties its database and ends other sessions on it, which would cut another worker's."""
    url, worker = os.environ.get("CIW_TEST_DATABASE_URL"), os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return
    from tests.databases import beside

    os.environ["CIW_TEST_DATABASE_URL"] = beside(url, worker)


_database_of_this_worker()
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("CIW_TEST_DATABASE_URL") else [])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`--numprocesses auto` (pyproject.toml): one process more than the machine has cores.
    Many tests spend much of their time waiting (on servers and programs they started, on
    the database), which a third process fills on two cores: the suite takes about 10 %
    less time than in two. PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of the installed wheel first: building and installing it takes the longest,
    and in a parallel run (pytest-xdist's worksteal) the first worker does it, and runs
    them all, while the others start on the rest."""
    items.sort(key=lambda item: "installed" not in getattr(item, "fixturenames", ()))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """A pytest-xdist worker is done: add the fault scenarios it counted to this run's."""
    from tests.faults.conftest import TALLY

    TALLY.update(getattr(node, "workeroutput", {}).get("faults_tally", {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.faults.conftest import TALLY

    if TALLY["scenarios"]:
        terminalreporter.write_line(
            f"faults: {TALLY['scenarios']} scenarios, duplicates {TALLY['duplicates']}, "
            f"lost {TALLY['lost']}, forged accepted {TALLY['forged_accepted']}"
        )


class VirtualTime:
    """Monotonic seconds that pacers skip ahead in instead of sleeping: real time plus every
    wait skipped so far. The fakes measure their rate limits in it too."""

    def __init__(self) -> None:
        self._skipped = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.monotonic() + self._skipped

    def skip(self, seconds: float) -> None:
        with self._lock:
            self._skipped += seconds


TIME = VirtualTime()  # one for the run: every pacer and fake in this process measures in it


class SkippingSlackPacer(deliveries.Pacer):
    """The Slack sender's pacer on `TIME`: where it would make the sender wait, it moves
    `TIME` on to when the call is allowed (same schedule, no sleeping)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, clock=TIME, **kwargs)

    def delay(self, channel: str) -> float:
        while (wait := super().delay(channel)) > 0:
            TIME.skip(wait)
        return 0.0


class SkippingTeamsPacer(pacing.Pacer):
    """The Teams pacer on `TIME`, skipping ahead as `SkippingSlackPacer` does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, clock=TIME, **kwargs)

    def delay(self, key: str) -> float:
        while (wait := super().delay(key)) > 0:
            TIME.skip(wait)
        return 0.0


@pytest.fixture(autouse=True)
def driven_time(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every runtime made in the test paces on `TIME`; the work after an ack starts at once
    (no `QUIET` wait) unless the test is marked `pauses` (tests of that pause itself)."""
    monkeypatch.setattr(deliveries, "Pacer", SkippingSlackPacer)
    # Where the Teams platform makes its pacer (`handlers.teams.outbound`), too.
    for module in (pacing, outbound):
        monkeypatch.setattr(module, "Pacer", SkippingTeamsPacer)
    if request.node.get_closest_marker("pauses") is None:
        monkeypatch.setattr(answering.Answering, "__init__", _no_quiet)


@pytest.fixture(scope="session", autouse=True)
def prompt_uvicorn() -> Iterator[None]:
    """uvicorn looks every 10 ms (not every 100 ms) whether it was asked to stop, and waits
    10 ms for connections to end: a served app stops in a few milliseconds, not 0.2 s."""
    import asyncio

    import uvicorn.server

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.01))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            uvicorn.server, "asyncio", SimpleNamespace(**{**vars(asyncio), "sleep": sleep})
        )
        yield


class KeyPool:
    """The fake Teams cloud's RSA keys (its signers', its certificate's): the keys a test asks
    for are made once in the run and handed out again, in the same order, to every test, so
    they are distinct within a test and 2048-bit key generation (0.1 s each) is not paid
    three times per test."""

    def __init__(self) -> None:
        self.keys: list[Any] = []
        self.taken = 0

    def generate_private_key(self, public_exponent: int, key_size: int) -> Any:
        from cryptography.hazmat.primitives.asymmetric import rsa

        if self.taken == len(self.keys):
            self.keys.append(
                rsa.generate_private_key(public_exponent=public_exponent, key_size=key_size)
            )
        key = self.keys[self.taken]
        assert key.key_size == key_size and key.public_key().public_numbers().e == public_exponent
        self.taken += 1
        return key


KEYS = KeyPool()


@pytest.fixture(autouse=True)
def pooled_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.handlers.teams import double

    KEYS.taken = 0
    pooled = SimpleNamespace(**{**vars(rsa), "generate_private_key": KEYS.generate_private_key})
    monkeypatch.setattr(double, "rsa", pooled)


_answering_init = answering.Answering.__init__


def _no_quiet(self: answering.Answering, quiet: float = 0.0, **kwargs: Any) -> None:
    _answering_init(self, quiet, **kwargs)


class Clock:
    """A clock the tests set; UTC."""

    def __init__(self, now: dt.datetime) -> None:
        self.value = now

    def __call__(self) -> dt.datetime:
        return self.value

    def set(self, iso: str) -> None:
        """Set to an ISO-8601 time; a naive one is office time (Europe/London)."""
        value = dt.datetime.fromisoformat(iso)
        if value.tzinfo is None:
            value = value.replace(
                tzinfo=dt.UTC
                if iso.endswith("Z")
                else __import__("zoneinfo").ZoneInfo("Europe/London")
            )
        self.value = value.astimezone(dt.UTC)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "ciw.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """The PostgreSQL test database, emptied and migrated once per run."""
    from tests.databases import emptied

    engine = emptied(os.environ["CIW_TEST_DATABASE_URL"])
    yield engine
    engine.dispose()


@dataclass
class PostgresReset:
    """How a PostgreSQL test database is put back to its start: the 22 authorities and
    nothing else, every sequence restarted.

    TRUNCATE, as it leaves each table a new, empty file (so rows come back in the order
    they were written, as they did in every test before), but only of the tables written to
    and those that refer to them (TRUNCATE takes a few milliseconds a table, and a test
    writes to a few of the two dozen); the authorities only when a test changed them."""

    check: str  # the names of the tables written to
    referring: dict[str, set[str]]  # table -> the tables referring to it, directly or not
    restart: str  # every sequence back to its start
    authorities: str  # a digest of the authorities' rows
    seeded: str | None = None  # that digest right after seeding


_RESETS: dict[str, PostgresReset] = {}


def _postgres_reset(engine: Engine) -> PostgresReset:
    metadata = MetaData()
    metadata.reflect(engine)
    tables = [t for t in metadata.tables.values() if t.name != "alembic_version"]
    direct: dict[str, set[str]] = {t.name: set() for t in tables}
    for table in tables:
        for key in table.foreign_keys:
            direct[key.column.table.name].add(table.name)
    referring: dict[str, set[str]] = {}
    for table in direct:
        found, todo = set(), [table]
        while todo:
            for other in direct[todo.pop()] - found:
                found.add(other)
                todo.append(other)
        referring[table] = found
    with engine.connect() as connection:
        sequences = connection.scalars(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
        ).all()
    return PostgresReset(
        # Any page at all, of live rows or of rows deleted since: a table written to.
        check=(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
            " AND relkind = 'r' AND relname NOT IN ('alembic_version', 'authorities')"
            " AND pg_relation_size(oid) > 0"
        ),
        referring=referring,
        restart="; ".join(f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences),
        authorities="SELECT md5(string_agg(a::text, '|' ORDER BY a.id)) FROM authorities a",
    )


def _reset_postgres(engine: Engine, authorities: list[dict[str, Any]]) -> None:
    key = engine.url.render_as_string()
    if key not in _RESETS:  # the schema is the same all run long: read once
        _RESETS[key] = _postgres_reset(engine)
    reset = _RESETS[key]
    with engine.begin() as connection:
        written = set(connection.scalars(text(reset.check)))
        changed = reset.seeded is None or connection.scalar(text(reset.authorities)) != reset.seeded
        if changed:
            written.add("authorities")
        emptied = written.union(*(reset.referring.get(t, set()) for t in written))
        if emptied:
            connection.exec_driver_sql(f"TRUNCATE {', '.join(sorted(emptied))} RESTART IDENTITY")
        connection.exec_driver_sql(reset.restart)
        if changed:
            connection.execute(insert(Authority.__table__), authorities)
            reset.seeded = connection.scalar(text(reset.authorities))


@pytest.fixture(scope="session")
def seeded_authorities(sqlite_template: Path) -> list[dict[str, Any]]:
    engine = make_engine(f"sqlite:///{sqlite_template}")
    with engine.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(select(Authority.__table__))]
    engine.dispose()
    return rows


@pytest.fixture(params=BACKENDS)
def engine(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    seeded_authorities: list[dict[str, Any]],
) -> Iterator[Engine]:
    """A fresh, migrated database with the 22 authorities."""
    if request.param == "sqlite":
        path = tmp_path / "ciw.db"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_engine")
        _reset_postgres(engine, seeded_authorities)
        yield engine


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """Slack's Web API on loopback, recording every call."""
    double = FakeSlack(clock=TIME).start()
    yield double
    double.stop()
    # Whatever real Slack would have refused fails the test, even when the bot swallowed it.
    refused = "\n".join(str(r) for r in double.refusals)
    assert not double.refusals, f"Slack would refuse what the bot sent:\n{refused}"


@pytest.fixture
def clock() -> Clock:
    """Office time Monday 2 March 2020, 10:00 (inside review year 2019-20)."""
    return Clock(dt.datetime(2020, 3, 2, 10, 0, tzinfo=dt.UTC))


@pytest.fixture
def settings(slack: FakeSlack, engine: Engine) -> Settings:
    return Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=str(engine.url),
    )


def quick_retries(client: Any) -> Any:
    """The client's retries of 5xx answers and lost connections come after 10 ms instead of
    slack_sdk's backoff (0.5 s, 1 s, 2 s): the same retries, without the waits. (A 429's
    retry still waits the Retry-After Slack names.)"""
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
    from slack_sdk.http_retry.builtin_interval_calculators import (
        FixedValueRetryIntervalCalculator,
    )

    for handler in client.retry_handlers:
        if not isinstance(handler, RateLimitErrorRetryHandler):
            handler.interval_calculator = FixedValueRetryIntervalCalculator(0.01)
    return client


@pytest.fixture
def app(settings: Settings, engine: Engine, clock: Clock):
    """The Bolt app on the fresh database, talking to the fake Slack."""
    from handlers.slack.client import make_client

    client = quick_retries(make_client(settings, timeout=5))
    app = create_app(settings, client=client, engine=engine, clock=clock)
    yield app
    # No listener or after-ack work may outlive its test (and its fake Slack).
    runtime_of(app).shutdown()


@pytest.fixture
def runtime(app: Any) -> Runtime:
    return runtime_of(app)


@dataclass
class Response:
    status: int
    body: str


class Workspace:
    """A Slack workspace as the tests see it: people type, Slack signs and posts."""

    def __init__(self, base: str, slack: FakeSlack, runtime: Runtime | None = None) -> None:
        self.base = base
        self.slack = slack
        self.runtime = runtime
        self.requests = SignedRequests(SIGNING_SECRET, slack)

    def post(self, body: bytes, headers: dict[str, str], path: str = "/slack/events") -> Response:
        """POST to the app as Slack would; the HTTP status and body."""
        request = urllib.request.Request(
            self.base + path, data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return Response(answer.status, answer.read().decode())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read().decode())

    def get(self, path: str) -> Response:
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as answer:
                return Response(answer.status, answer.read().decode())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read().decode())

    def command(
        self, text: str, *, user: str = "U0INSPECT", channel: str = "G0REVIEW", wait: bool = True
    ) -> Call | Response:
        """Type `/ciw <text>`; the reply the bot sent to the response_url (or the HTTP answer)."""
        body, headers = self.requests.command(text, user=user, channel=channel)
        answer = self.post(body, headers)
        assert answer.status == 200, answer
        if not wait:
            return answer
        token = dict(p.split("=", 1) for p in body.decode().split("&"))["response_url"]
        token = urllib.request.unquote(token).rsplit("/", 1)[1]
        return self.slack.wait_for(
            lambda s: next((c for c in s.responses() if c.get("_token") == token), None)
        )

    def interact(self, payload: dict[str, Any]) -> Response:
        body, headers = self.requests.interaction(payload)
        return self.post(body, headers)

    def event(self, event: dict[str, Any], **kwargs: Any) -> Response:
        body, headers = self.requests.event(event, **kwargs)
        return self.post(body, headers)


@pytest.fixture
def workspace(app: Any, runtime: Runtime, slack: FakeSlack) -> Iterator[Workspace]:
    """The app served on loopback as `ciw-bot serve` serves it (Slack only)."""
    from handlers.serve import serving

    served = Served(serving(runtime, wsgi_app(app, runtime.engine), slack_app=app, threads=4))
    served.start()
    yield Workspace(served.url, slack, runtime)
    served.stop()


def outbox_settled(runtime: Runtime, timeout: float = 15.0) -> None:
    """Wait until the sender has sent (or given up) every message due now, and marked it."""
    import time

    from db.models import Delivery

    deadline = time.monotonic() + timeout
    while True:
        with runtime.transaction() as session:
            waiting = session.scalar(
                select(Delivery.id).where(
                    Delivery.sent_at.is_(None),
                    Delivery.cancelled_at.is_(None),
                    Delivery.due_at <= runtime.now(),
                    Delivery.next_attempt_at.is_(None),
                )
            )
        if waiting is None:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox row {waiting} still unsent")
        time.sleep(0.005)


def claims_released(runtime: Runtime, timeout: float = 15.0) -> None:
    """Wait until no sender holds a claim on an unsent row: what it was sending is marked
    sent, or failed with its retry time (a platform's answer seen by the fake comes a moment
    before the sender records it)."""
    from db.models import Delivery

    deadline = time.monotonic() + timeout
    while True:
        with runtime.transaction() as session:
            claimed = session.scalar(
                select(Delivery.id).where(
                    Delivery.sent_at.is_(None),
                    Delivery.cancelled_at.is_(None),
                    Delivery.claimed_at.is_not(None),
                )
            )
        if claimed is None:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox row {claimed} still claimed")
        time.sleep(0.005)


class BurstClock:
    """An `Answering`'s clock during a burst: it stands still but for what the burst's
    requests move it on, so however late the machine runs the burst's thread, no pause
    falls between two of its requests; once the burst is over it runs on in real time."""

    def __init__(self, start: float) -> None:
        self._value = start
        self._since: float | None = None  # time.monotonic() when the burst ended
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            if self._since is None:
                return self._value
            return self._value + time.monotonic() - self._since

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._value += seconds

    def run_on(self) -> None:
        with self._lock:
            self._since = time.monotonic()


BURST_STEP = 0.001  # seconds of the answering's clock between two requests of a burst


@contextlib.contextmanager
def burst(answering: Any) -> Iterator[None]:
    """Requests coming and answered, one every `BURST_STEP` of the answering's clock, until
    the block ends: its clock moves only with them (a `BurstClock`), so no pause comes
    however slowly the machine runs them, and `PAUSE_WAIT` runs out only after 2,500 of
    them (at least 5 s: each is 2 ms apart in real time). The clock runs on in real time
    afterwards."""
    clock = BurstClock(answering.clock())
    answering.clock = clock
    stop = threading.Event()

    def arrive() -> None:
        while not stop.is_set():
            with answering.request():
                clock.advance(BURST_STEP)
            time.sleep(0.002)

    with answering.request():  # the first one before the block starts
        clock.advance(BURST_STEP)
    thread = threading.Thread(target=arrive)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        clock.run_on()


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """Each test leaves logging as it found it. `ciw-bot`'s `main`, run in the test's process,
    points the root logger at the stderr pytest lent that test; a thread logging after the
    test would write to that closed stream ("I/O operation on closed file")."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
