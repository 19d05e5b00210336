"""The records database failing while people use the bot in Teams: refusing connections,
refusing writes (read-only), out of disk. Every way in (a message, a reply in a draft's
chain, a card's button, a form, the bot being added) gets Slack's polite answer, never a
500 and never silence, with nothing recorded; `/healthz` answers 503 and why while it
lasts, and 200 once the database is back.

Each failure is a real one: SQLite's file made impossible to open, or PostgreSQL's port
closed (a proxy in front of it stops listening); SQLite's `query_only` or PostgreSQL's
`default_transaction_read_only`; a SQLite file on a small file system filled up (where
the tests may mount one)."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from a2wsgi import WSGIMiddleware
from sqlalchemy import Engine, event, func, select

from bot.render import Templates
from db.models import Activity, Comment, Finding, HistoryEntry, IdempotencyKey, Review
from db.session import make_engine
from handlers.slack import text as slack_text
from handlers.slack.text import SLACK
from handlers.teams import answers, turns
from handlers.teams import text as teams_text
from handlers.teams.text import TEAMS
from tests.handlers.teams.test_forms import (
    GOOD_ACTIVITY,
    errors_of,
    fetch,
    form_of,
    inputs,
    opener_of,
)
from tests.handlers.teams.world import CHANNEL, TEAM, Org, posted_draft, teams_runtime, text_of

MESSAGE = "application/vnd.microsoft.activity.message"
RECORDS = (Activity, Finding, HistoryEntry, Comment, Review, IdempotencyKey)
TYPED = "inspection of the Rhosddu day centre"  # typed text no log line may hold


# -- real failures ----------------------------------------------------------------------------
class Proxy:
    """A TCP proxy in front of PostgreSQL that stops listening (and drops what it carries):
    the server's port closed, as a stopped or unreachable database is to the bot."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        finder = socket.socket()
        finder.bind(("127.0.0.1", 0))
        self.port = finder.getsockname()[1]
        finder.close()
        self._links: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            links, self._links = set(self._links), set()
        for link in links:
            with contextlib.suppress(OSError):
                link.shutdown(socket.SHUT_RDWR)
            link.close()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while not self._stop.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                client.settimeout(None)
                upstream = socket.create_connection(self.target)
                with self._lock:
                    self._links |= {client, upstream}
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


class Outage:
    """The app's database (`engine`) put out of action for real (`down`) and back (`up`);
    `reason` is what /healthz should say meanwhile, `reads` whether reads still answer."""

    def __init__(self, kind: str, test_engine: Engine, tmp_path: Path) -> None:
        self.kind = kind
        self.reads = kind != "unavailable"
        self.reason = kind
        self.is_down = False
        self._undo: list[Any] = []
        self.proxy: Proxy | None = None
        sqlite = test_engine.dialect.name == "sqlite"
        if kind == "full":
            if not sqlite:
                pytest.skip("PostgreSQL's disk is not the tests' to fill")
            self.path = _small_file_system(tmp_path) / "ciw.db"
            shutil.copy(test_engine.url.database, self.path)
            self.engine = make_engine(f"sqlite:///{self.path}")
        elif sqlite:
            self.path = Path(test_engine.url.database)
            self.engine = make_engine(f"sqlite:///{self.path}")
        elif kind == "unavailable":
            self.proxy = Proxy(test_engine.url.host or "127.0.0.1", test_engine.url.port or 5432)
            self.proxy.start()
            url = test_engine.url.set(host="127.0.0.1", port=self.proxy.port)
            self.engine = make_engine(url.render_as_string(hide_password=False))
        else:
            self.engine = make_engine(test_engine.url.render_as_string(hide_password=False))

    def down(self) -> None:
        self.is_down = True
        sqlite = self.engine.dialect.name == "sqlite"
        if self.kind == "unavailable" and self.proxy is not None:
            self.proxy.stop()
        elif self.kind == "unavailable":
            # The file cannot be opened: its path is a directory now.
            self.engine.dispose()
            stash = self.path.parent / "away"
            stash.mkdir()
            for name in [self.path.name, f"{self.path.name}-wal", f"{self.path.name}-shm"]:
                if (self.path.parent / name).exists():
                    (self.path.parent / name).rename(stash / name)
            self.path.mkdir()
        elif self.kind == "read-only":
            statement = (
                "PRAGMA query_only = 1" if sqlite else "SET default_transaction_read_only = on"
            )

            def read_only(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute(statement)
                cursor.close()
                if not sqlite:
                    dbapi_connection.commit()

            event.listen(self.engine, "connect", read_only)
            self._undo.append(lambda: event.remove(self.engine, "connect", read_only))
            self.engine.dispose()
        else:  # full: what is left of the file system taken
            with open(self.path.parent / "filler", "wb", buffering=0) as filler:
                with contextlib.suppress(OSError):
                    while True:
                        filler.write(b"\0" * 65536)
                with contextlib.suppress(OSError):
                    while True:
                        filler.write(b"\0" * 512)
            stats = os.statvfs(self.path.parent)
            assert stats.f_bavail == 0, "the file system is not full"

    def up(self) -> None:
        if self.kind == "unavailable" and self.proxy is not None:
            self.proxy.start()
        elif self.kind == "unavailable":
            self.path.rmdir()
            stash = self.path.parent / "away"
            for moved in stash.iterdir():
                moved.rename(self.path.parent / moved.name)
            stash.rmdir()
        elif self.kind == "read-only":
            while self._undo:
                self._undo.pop()()
        else:
            (self.path.parent / "filler").unlink()
        self.engine.dispose()
        self.is_down = False

    def close(self) -> None:
        self.engine.dispose()
        if self.proxy is not None:
            self.proxy.stop()


def _small_file_system(tmp_path: Path) -> Path:
    """A 16 MB tmpfs under `tmp_path`, unmounted at the end (skips where it cannot be)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system: {done.stderr.decode().strip()}")
    _MOUNTS.append(mount)
    return mount


_MOUNTS: list[Path] = []


@pytest.fixture(params=["unavailable", "read-only", "full"])
def outage(request: pytest.FixtureRequest, engine: Engine, tmp_path: Path) -> Iterator[Outage]:
    made: Outage | None = None
    try:
        made = Outage(request.param, engine, tmp_path)
        yield made
    finally:
        if made is not None:
            made.close()
        while _MOUNTS:
            subprocess.run(["umount", "-l", str(_MOUNTS.pop())], check=False)


@pytest.fixture
def org(outage: Outage, teams_settings: Any, clock: Any, cloud: Any, serve: Any) -> Iterator[Org]:
    """The bot's Teams app with /healthz beside it on one port (as `serve` mounts them), on
    the outage's database."""
    from handlers.teams import create_app
    from handlers.web.app import web_app

    runtime = teams_runtime(teams_settings, outage.engine, clock)
    asgi = create_app(runtime, fallback=WSGIMiddleware(web_app(runtime, {}), workers=2))
    served = serve(asgi)
    yield Org(cloud, served.url, runtime, asgi.state.teams_app)
    if outage.is_down:  # a test that failed half-way
        outage.up()
    served.stop()
    runtime.shutdown()


# -- what the tests read ----------------------------------------------------------------------
def polite(org: Org) -> str:
    """Slack's words for it, as a person reads them in Teams."""
    return answers.text(org.runtime, "errors/database_unavailable")


def healthz(org: Org) -> tuple[int, dict[str, Any]]:
    answer = requests.get(f"{org.url}/healthz", timeout=15)
    return answer.status_code, answer.json()


def counts(org: Org) -> dict[str, int]:
    with org.runtime.transaction() as session:
        return {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in RECORDS}


def drained(org: Org, timeout: float = 20.0) -> None:
    """The bot's work after its answers done (without asking the database, as `settle` does)."""
    background = turns.background(org.app)
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 5:
        assert time.monotonic() < deadline, "the bot's work did not finish"
        quiet = quiet + 1 if not background.tasks else 0
        time.sleep(0.02)


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="ciw")
    return caplog


def failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the handlers logged with a traceback (the outbox sender's own retries aside)."""
    return [
        r
        for r in caplog.records
        if r.exc_info and r.name.startswith("ciw.teams") and r.name != "ciw.teams.sender"
    ]


def told_once(caplog: pytest.LogCaptureFixture) -> None:
    found = failures(caplog)
    assert len(found) == 1, [r.getMessage() for r in found]
    assert "database unavailable" in found[0].getMessage()
    assert TYPED not in caplog.text
    caplog.clear()


# -- the tests ------------------------------------------------------------------------------
def test_every_way_in_is_answered_politely_and_nothing_is_recorded(org, outage, logged):
    words = polite(org)
    draft = posted_draft(org)
    # Before: a comment in the draft's chain, and the activity form opened.
    org.say(
        "The dates look right.", "bea", channel=CHANNEL, thread=draft["root"], mention_bot=False
    )
    org.say("log-activity", "ann")
    form = form_of(fetch(org, opener_of(org)))
    assert healthz(org) == (200, {"status": "ok", "database": "ok"})
    before = counts(org)
    logged.clear()

    outage.down()
    status, state = healthz(org)
    assert status == 503 and state["status"] == "degraded", state
    assert state["database"] == outage.reason and state["error"], state

    # A command in the personal chat: answered there.
    said = len(org.chat("ann"))
    typed = f"log-activity wrexham adults 2020-04-20 {TYPED}"
    answer = org.post(org.message(typed, org["ann"]))
    assert answer.status_code == 200
    drained(org)
    assert org.chat("ann")[said:] == [words]
    told_once(logged)

    # Someone the bot has never heard from (neither they nor their chat are stored).
    assert org.post(org.message(typed, org["alex"])).status_code == 200
    drained(org)
    assert org.chat("alex") == [words]
    told_once(logged)

    # A command in the channel: answered privately as any refusal, when who typed it and
    # their personal chat can be read; else in its thread.
    said = len(org.chat("ann"))
    message = org.message(typed, org["ann"], channel=CHANNEL)
    assert org.post(message).status_code == 200
    drained(org)
    if outage.reads:
        assert org.chat("ann")[said:] == [words]
        assert org.in_thread(CHANNEL, message["id"]) == [
            answers.text(org.runtime, "teams_answered_in_chat")
        ]
    else:
        assert org.in_thread(CHANNEL, message["id"]) == [words]
    told_once(logged)

    # A comment in the draft's reply chain: answered in the chain.
    comment = org.message(
        f"Also {TYPED}.", org["bea"], channel=CHANNEL, thread=draft["root"], mention_bot=False
    )
    assert org.post(comment).status_code == 200
    drained(org)
    assert org.in_thread(CHANNEL, draft["root"])[-1] == words
    told_once(logged)

    # A card's button: the invoke's answer, to the clicker only.
    click = org.click(
        "draft_approve",
        {"value": str(draft["version"])},
        org["bea"],
        conversation=draft["conversation"],
    )
    assert click.status_code == 200, click.text
    assert click.json() == {"statusCode": 200, "type": MESSAGE, "value": words}
    told_once(logged)

    # The form: said in the dialog (under its first field, values kept, when the form can
    # still be read; else in place of it).
    (record,) = form["actions"]
    payload = {**copy.deepcopy(record["data"]), **GOOD_ACTIVITY, "title": TYPED}
    submitted = org.post(org.invoke("task/submit", {"data": payload, "context": {}}, org["ann"]))
    assert submitted.status_code == 200, submitted.text
    task = submitted.json()["task"]
    if outage.reads:
        again = task["value"]["card"]["content"]
        assert errors_of(again)[-1] == words
        assert inputs(again)["title"]["value"] == TYPED
    else:
        assert task == {"type": "message", "value": words}
    told_once(logged)

    # The bot added to a team: told there, in its General channel.
    added = org.message("", org["ann"], channel=TEAM, mention_bot=False)
    for key in ("text", "textFormat", "entities"):
        added.pop(key)
    added["conversation"]["id"] = TEAM
    added.update(type="conversationUpdate", membersAdded=[{"id": org.bot_id}])
    added["channelData"]["eventType"] = "teamMemberAdded"
    assert org.post(added).status_code == 200
    drained(org)
    assert [text_of(a) for a in org.replies(TEAM) if not a.get("replyToId")] == [words]
    told_once(logged)

    # Back: healthy again, nothing of the above recorded, and the bot works as before.
    outage.up()
    assert healthz(org) == (200, {"status": "ok", "database": "ok"})
    assert counts(org) == before
    org.say(typed, "ann")
    assert "Recorded A2" in org.last("ann")  # A1 is the draft's


@pytest.mark.parametrize("outage", ["read-only"], indirect=True)
def test_healthz_says_full_when_sqlite_may_not_grow(org, outage, engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's page limit")
    # SQLite's own limit: at its page limit with no free page, it cannot take a new page.
    # No free page to begin with (a migration that rebuilt a table leaves some behind).
    with outage.engine.connect() as connection:
        connection.exec_driver_sql("VACUUM")

    def at_its_limit(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA max_page_count = 1")  # raised to its size: no more pages
        cursor.close()

    event.listen(outage.engine, "connect", at_its_limit)
    outage.engine.dispose()
    try:
        status, state = healthz(org)
        assert (status, state) == (
            503,
            {"status": "degraded", "database": "full", "error": "SQLITE_FULL"},
        )
    finally:
        event.remove(outage.engine, "connect", at_its_limit)
        outage.engine.dispose()
    assert healthz(org)[0] == 200


def test_slack_and_teams_say_the_same_words():
    templates = Templates()
    slack_words, teams_words = (
        visible(templates.in_dialect(dialect).message("errors/database_unavailable"))
        for dialect, visible in ((SLACK, slack_text.visible), (TEAMS, teams_text.visible))
    )
    assert slack_words == teams_words
    assert "not answering" in slack_words and "nothing was recorded" in slack_words
