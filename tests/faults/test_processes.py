"""Two `ciw-bot serve` processes on one database, forged requests against both, and a
clock killed after Slack took its message."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from db.models import Activity, Delivery
from handlers.slack import deliveries
from handlers.slack.double import SignedRequests
from tests.faults.conftest import tally
from tests.serving import PROGRAM, ROOT, ServeProcess

SECRET = "faults-secret"


def _env(engine, slack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CIW_"))}
    env.update(
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        SLACK_BOT_TOKEN="xoxb-faults",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
        SLACK_TEAM_ID="T0CIW",
    )
    return env


def _post(port: int, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def servers(engine, slack, tmp_path):
    """Two `ciw-bot serve` on the same database, as two web dynos would run."""
    env = _env(engine, slack)
    started = [ServeProcess(env, tmp_path / f"serve-{n}.log") for n in range(2)]
    try:
        yield [served.port for served in started]
    finally:
        for served in started:
            served.stop(timeout=15)


def _activities(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Activity)).scalar()


COMMAND = "log-activity wrexham children 2020-04-20T10:00 performance review meeting"


def test_two_servers_take_each_request_once_and_refuse_every_forgery(servers, engine, slack):
    one, two = servers
    signer = SignedRequests(SECRET, slack)
    body, headers = signer.command(COMMAND)
    # The same signed request at both servers: one records it, the other does nothing.
    assert _post(one, body, headers) == 200
    assert _post(two, body, headers) in (200, 401)
    assert _post(one, body, headers) == 401  # the same process refuses it at once
    slack.wait_for(lambda s: s.responses())
    time.sleep(1.0)
    assert len(slack.responses()) == 1  # one reply: the replay got none
    recorded = _activities(engine)
    tally(duplicates=recorded - 1, lost=1 - recorded)
    assert recorded == 1

    slack.clear()
    forged = 0
    attempts = [
        {**headers, "X-Slack-Request-Timestamp": "abc"},
        {**headers, "X-Slack-Signature": "v0=" + "0" * 64},
        {"Content-Type": headers["Content-Type"]},
        {**headers, **signer.sign(body, int(time.time()) - 3600)},
    ]
    fresh_body, fresh_headers = signer.command(COMMAND)
    tampered = fresh_body.replace(b"wrexham", b"cardiff")
    for port in servers:
        for attempt in attempts:
            forged += _post(port, body, attempt) != 401
        forged += _post(port, tampered, fresh_headers) != 401
    # Another workspace's request, signed by Slack: answered, refused, nothing recorded.
    stranger_body, stranger_headers = SignedRequests(SECRET, slack, team_id="T0OTHER").command(
        COMMAND, user="U0STRANGER"
    )
    assert _post(one, stranger_body, stranger_headers) == 200
    time.sleep(0.5)
    forged += _activities(engine) - 1
    # Nothing went out for any of them: no response_url, no Web API call.
    forged += len([c for c in slack.calls if c.method != "users.info"])
    tally(forged_accepted=forged)
    assert forged == 0


def test_a_clock_killed_after_slack_took_the_reminder_never_sends_it_twice(servers, engine, slack):
    one, _ = servers
    signer = SignedRequests(SECRET, slack)
    # An activity a month from now (the servers run on the real clock), two inspectors.
    start = _weekday(dt.date.today() + dt.timedelta(days=30))
    typed = (
        f"log-activity wrexham children {start.isoformat()}T10:00 review <@U0INSPECT> <@U0OTHER>"
    )
    body, headers = signer.command(typed, channel="G0REVIEW")
    assert _post(one, body, headers) == 200
    slack.wait_for(lambda s: s.responses())
    env = _env(engine, slack)
    with engine.connect() as connection:
        first = connection.execute(select(func.min(Delivery.due_at))).scalar()
        assert first is not None, "no reminder planned"
        first = first if first.tzinfo else first.replace(tzinfo=dt.UTC)
        owed = connection.execute(
            select(func.count()).select_from(Delivery).where(Delivery.due_at <= first)
        ).scalar()
    due = first.astimezone(ZoneInfo("Europe/London")).replace(tzinfo=None).isoformat()
    assert owed >= 2
    # Slack takes the first post but answers only once the clock has been killed.
    answer = threading.Event()
    slack.stall("chat.postMessage", 60.0, until=answer)
    clock = subprocess.Popen(
        [*PROGRAM, "clock", "--once", "--now", due],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    slack.wait_calls("stalled:chat.postMessage", timeout=60)
    clock.send_signal(signal.SIGKILL)
    clock.wait(timeout=10)
    answer.set()
    slack.wait_calls("chat.postMessage", 1, timeout=10)  # it landed in Slack all the same
    # Ten minutes on, its claim has lapsed; the next clock takes over.
    lapsed = deliveries.wall_clock() - deliveries.LEASE
    with engine.begin() as connection:
        connection.execute(
            update(Delivery).where(Delivery.claimed_at.is_not(None)).values(claimed_at=lapsed)
        )
    result = subprocess.run(
        [*PROGRAM, "clock", "--once", "--now", due],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    posts = slack.of("chat.postMessage")
    keys = [c.get("metadata")["event_payload"]["key"] for c in posts]
    duplicates = len(keys) - len(set(keys))
    with engine.connect() as connection:
        unsent = connection.execute(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.due_at <= first,
                Delivery.sent_at.is_(None),
                Delivery.cancelled_at.is_(None),
            )
        ).scalar()
    tally(duplicates=duplicates, lost=unsent)
    assert duplicates == 0 and unsent == 0
    assert len(set(keys)) == owed


def _weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _approved_letter(engine) -> None:
    """Wrexham's 2019-20 letter made and approved through the domain, as the servers' own
    database holds it after a review (no platform needed: nothing is posted)."""
    from bot.demo import load_demo
    from bot.review import draft_versions
    from bot.runtime import build_runtime
    from bot.settings import Settings
    from db.models import Authority, Decision, Draft, Review

    now = dt.datetime(2020, 8, 4, 10, tzinfo=dt.UTC)
    runtime = build_runtime(
        Settings(database_url=engine.url.render_as_string(hide_password=False)),
        engine=engine,
        clock=lambda: now,
    )
    with runtime.transaction() as session:
        load_demo(session, now=now)
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        draft = Draft(authority=wrexham, review_year=2019, channel_id="G0REVIEW", created_by="U0")
        session.add(draft)
        session.flush()
        version = draft_versions.new_version(
            runtime, session, draft, actor="U0", post=False
        ).version
        version.approved_at = now
        session.add(
            Review(version_id=version.id, user_id="U0REVIEW", decision=Decision.APPROVE, at=now)
        )


def test_two_servers_issuing_the_same_letter_at_once_issue_it_once(servers, engine, slack):
    from db.models import IssuedFile, LetterIssue

    _approved_letter(engine)
    signer = SignedRequests(SECRET, slack)
    requests = [signer.command("issue wrexham 2019-20", user=f"U0REVIEW{n}") for n in (1, 2)]

    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def send(port: int, request: tuple[bytes, dict[str, str]]) -> None:
        barrier.wait()
        statuses.append(_post(port, *request))

    threads = [
        threading.Thread(target=send, args=pair) for pair in zip(servers, requests, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200]
    answers = slack.wait_for(lambda s: s.responses() if len(s.responses()) == 2 else None, 30)
    texts = sorted(str(a.get("text")) for a in answers)
    assert sum("is issued" in t for t in texts) == 1, texts
    assert sum("already issued" in t for t in texts) == 1, texts
    with engine.connect() as connection:
        issues = connection.execute(select(func.count()).select_from(LetterIssue)).scalar()
        files = connection.execute(select(func.count()).select_from(IssuedFile)).scalar()
    tally(duplicates=issues - 1, lost=1 - issues)
    assert (issues, files) == (1, 1)
