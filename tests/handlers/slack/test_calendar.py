"""Calendar feeds through the real HTTP path: `/ciw calendar` signed in, the feed fetched
from the same server and read back with icalendar."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from bot import logging_setup
from bot.settings import Settings
from db.models import CalendarFeed
from handlers.slack.text import visible
from tests.conftest import SIGNING_SECRET

LONDON = ZoneInfo("Europe/London")
PUBLIC = "https://ciw-bot.example.org"
WREXHAM = "Wrexham County Borough Council"
ADMIN = "U0ADMIN"


@pytest.fixture
def settings(slack, engine):
    return Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=str(engine.url),
        public_url=PUBLIC,
        admins=frozenset({ADMIN}),
    )


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def calendar(self) -> icalendar.Calendar:
        assert self.status == 200, self
        assert self.headers["content-type"] == "text/calendar; charset=utf-8"
        return icalendar.Calendar.from_ical(self.body)


def fetch(workspace, path: str, *, method: str = "GET", **headers: str) -> Answer:
    request = urllib.request.Request(workspace.base + path, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return Answer(
                answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
            )
    except urllib.error.HTTPError as error:
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def subscribe(workspace, user: str = "U0INSPECT", args: str = "") -> str:
    """Type `/ciw calendar`; the feed's path under PUBLIC_URL."""
    reply = workspace.command(f"calendar {args}".strip(), user=user)
    assert reply.get("response_type") == "ephemeral"
    found = re.search(
        r"https://ciw-bot\.example\.org(/calendar/[A-Za-z0-9_-]+\.ics)", reply.get("text")
    )
    assert found, reply.get("text")
    return found.group(1)


def events(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}


def say(workspace, text: str, user: str = "U0INSPECT") -> str:
    return visible(workspace.command(text, user=user).get("text"))


def test_the_command_gives_a_private_address_and_how_to_subscribe(workspace, runtime):
    reply = workspace.command("calendar")
    assert reply.get("response_type") == "ephemeral"
    text = visible(reply.get("text"))
    for words in ("Outlook", "Subscribe from web", "Google Calendar", "Apple Calendar"):
        assert words in text
    path = re.search(r"/calendar/([A-Za-z0-9_-]+)\.ics", text)
    token = path.group(1)
    assert len(token) >= 43  # 32 random bytes: 256 bits
    with runtime.transaction() as session:
        [feed] = session.scalars(select(CalendarFeed)).all()
        assert feed.user_id == "U0INSPECT"
        # Only the hash is kept: the database alone does not give the address away.
        assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in json.dumps([feed.user_id, feed.platform, feed.token_hash])
    # Asking again does not change the address (subscriptions keep working) and cannot show it.
    again = visible(workspace.command("calendar").get("text"))
    assert "already have a calendar feed" in again and "/calendar/" not in again
    assert fetch(workspace, path.group(0)).status == 200
    assert "calendar [reset]" in visible(workspace.command("calendar please").get("text"))
    assert "/ciw calendar" in visible(workspace.command("help").get("text"))


def test_the_feed_follows_every_move_across_the_bst_change(workspace):
    # Monday 2 March 2020; clocks go forward on Sunday 29 March 2020.
    path = subscribe(workspace)
    assert "A1" in say(workspace, "log-activity wrexham children 2020-03-20T10:00 focused activity")
    say(
        workspace,
        "log-activity wrexham adults 2020-03-24..2020-03-26 inspection of CMHT | with HIW",
    )
    say(workspace, "log-activity wrexham both 2019-10-01 meeting that already happened")

    first = fetch(workspace, path).calendar()
    assert first["X-PUBLISHED-TTL"].to_ical() == b"PT1H"
    assert first["REFRESH-INTERVAL"].to_ical() == b"PT1H"
    found = events(first)
    assert set(found) == {f"focused activity — {WREXHAM}", f"inspection of CMHT — {WREXHAM}"}
    timed = found[f"focused activity — {WREXHAM}"]
    assert timed.start == dt.datetime(2020, 3, 20, 10, 0, tzinfo=LONDON)
    assert timed.start.astimezone(dt.UTC).hour == 10  # GMT
    assert timed["DTSTART"].params["TZID"] == "Europe/London"
    assert "Children's services" in str(timed["DESCRIPTION"])
    assert str(timed["STATUS"]) == "CONFIRMED"
    assert [tz["TZID"] for tz in first.walk("VTIMEZONE")] == ["Europe/London"]
    multi_day = found[f"inspection of CMHT — {WREXHAM}"]
    assert (multi_day.start, multi_day.end) == (dt.date(2020, 3, 24), dt.date(2020, 3, 27))
    assert "with HIW" not in fetch(workspace, path).body.decode()  # details stay in the bot
    uid, sequence = str(timed["UID"]), int(timed["SEQUENCE"])

    # Rescheduled across the change: 10:00 in London is now 09:00 UTC.
    say(workspace, "reschedule A1 2020-04-02T10:00 | council asked")
    moved = events(fetch(workspace, path).calendar())[f"focused activity — {WREXHAM}"]
    assert str(moved["UID"]) == uid
    assert moved.start == dt.datetime(2020, 4, 2, 10, 0, tzinfo=LONDON)
    assert moved.start.astimezone(dt.UTC) == dt.datetime(2020, 4, 2, 9, 0, tzinfo=dt.UTC)
    assert int(moved["SEQUENCE"]) > sequence
    bst = first.walk("VTIMEZONE")[0]
    assert any(str(part["TZNAME"]) == "BST" for part in bst.walk("DAYLIGHT"))

    say(workspace, "postpone A1 | COVID-19 restrictions")
    postponed = events(fetch(workspace, path).calendar())[
        f"Postponed: focused activity — {WREXHAM}"
    ]
    assert str(postponed["UID"]) == uid
    assert int(postponed["SEQUENCE"]) > int(moved["SEQUENCE"])
    assert (str(postponed["STATUS"]), str(postponed["TRANSP"])) == ("TENTATIVE", "TRANSPARENT")

    say(workspace, "cancel A1 | no longer needed")
    cancelled = events(fetch(workspace, path).calendar())[
        f"Cancelled: focused activity — {WREXHAM}"
    ]
    assert str(cancelled["UID"]) == uid
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > int(postponed["SEQUENCE"])

    # A completed or removed activity leaves the feed.
    say(workspace, "complete A2")
    say(workspace, "remove A1")
    assert events(fetch(workspace, path).calendar()) == {}


def test_a_reset_address_is_gone_at_once_and_looks_like_one_that_never_was(workspace):
    old = subscribe(workspace)
    assert fetch(workspace, old).status == 200
    new = subscribe(workspace, args="reset")
    assert new != old
    gone = fetch(workspace, old)
    never = fetch(workspace, "/calendar/" + "x" * 43 + ".ics")
    assert gone.status == never.status == 404
    assert (gone.body, gone.headers.get("content-type")) == (
        never.body,
        never.headers.get("content-type"),
    )
    assert fetch(workspace, new).status == 200
    assert fetch(workspace, "/calendar/short.ics").status == 404
    assert fetch(workspace, new, method="POST").status == 405


def test_only_ones_own_activities_are_in_ones_feed(workspace):
    mine = subscribe(workspace, user="U0INSPECT")
    hers = subscribe(workspace, user="U0BEA")
    say(workspace, "log-activity rct adults 2020-05-04 her own meeting", user="U0BEA")
    say(
        workspace,
        "log-activity vale children 2020-05-05 shared visit with <@U0INSPECT|alex>",
        user="U0BEA",
    )
    say(workspace, "log-activity wrexham children 2020-05-06 my own visit")
    assert {s.split(" — ")[0] for s in events(fetch(workspace, mine).calendar())} == {
        "shared visit with",
        "my own visit",
    }
    assert {s.split(" — ")[0] for s in events(fetch(workspace, hers).calendar())} == {
        "her own meeting",
        "shared visit with",
    }


def test_findings_never_reach_a_feed(workspace):
    path = subscribe(workspace)
    say(workspace, "log-activity wrexham adults 2020-04-20 focused activity")
    say(
        workspace,
        "log-finding wrexham 2020-21 people improvement adults A1 CONFIDENTIAL-FINDING delays",
    )
    body = fetch(workspace, path).body.decode()
    assert "focused activity" in body
    assert "CONFIDENTIAL-FINDING" not in body and "delays" not in body


def test_an_unchanged_feed_answers_304_to_its_etag(workspace):
    path = subscribe(workspace)
    say(workspace, "log-activity wrexham adults 2020-04-20T09:30 meeting")
    first = fetch(workspace, path)
    tag = first.headers["etag"]
    assert tag.startswith('"')
    same = fetch(workspace, path, **{"If-None-Match": tag})
    assert (same.status, same.body, same.headers["etag"]) == (304, b"", tag)
    assert fetch(workspace, path, **{"If-None-Match": f'"other", W/{tag}'}).status == 304
    head = fetch(workspace, path, method="HEAD")
    assert (head.status, head.body, head.headers["etag"]) == (200, b"", tag)
    say(workspace, "reschedule A1 2020-04-21T09:30")
    changed = fetch(workspace, path, **{"If-None-Match": tag})
    assert changed.status == 200 and changed.headers["etag"] != tag
    assert dt.datetime(2020, 4, 21, 9, 30, tzinfo=LONDON) in [
        e.start for e in changed.calendar().walk("VEVENT")
    ]


def test_guests_get_no_feed(workspace, slack):
    path = subscribe(workspace)
    say(workspace, "log-activity wrexham adults 2020-04-20 meeting")
    assert fetch(workspace, path).status == 200
    slack.users["U0INSPECT"] = {"is_restricted": True}
    refused = fetch(workspace, path)
    assert (refused.status, refused.body) == (404, b"Not found\n")
    slack.users["U0INSPECT"] = {"deleted": True}
    assert fetch(workspace, path).status == 404
    # A guest asking for a feed is refused and gets none.
    slack.users["U0GUEST"] = {"is_ultra_restricted": True}
    # (Someone not yet known is checked after the ack: the refusal comes by response_url.)
    answer = workspace.command("calendar", user="U0GUEST")
    assert "guest accounts cannot use it" in visible(answer.get("text"))
    assert "/calendar/" not in answer.get("text")


def test_when_slack_cannot_say_who_the_owner_is_the_feed_asks_to_come_back(workspace, slack):
    path = subscribe(workspace)
    slack.fail("users.info", 500, times=10)
    answer = fetch(workspace, path)
    assert (answer.status, answer.headers["retry-after"]) == (503, "600")


def test_people_without_a_role_get_no_feed_once_roles_are_enforced(workspace, runtime):
    path = subscribe(workspace, user="U0NOROLE")  # a new install: everyone may work
    say(workspace, "log-activity wrexham adults 2020-04-20 meeting", user="U0NOROLE")
    assert fetch(workspace, path).status == 200
    say(workspace, "role <@U0OTHER|o> inspector", user=ADMIN)
    assert fetch(workspace, path).status == 404
    refusal = say(workspace, "calendar reset", user="U0NOROLE")
    assert "needs an inspector's role" in refusal and "/calendar/" not in refusal
    say(workspace, "role <@U0NOROLE|n> reviewer", user=ADMIN)
    assert fetch(workspace, path).status == 200
    assert fetch(workspace, subscribe(workspace, user=ADMIN)).status == 200


def test_without_public_url_the_command_says_so(workspace, runtime, monkeypatch):
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, public_url=None))
    text = say(workspace, "calendar")
    assert "PUBLIC_URL" in text and "/calendar/" not in text
    with runtime.transaction() as session:
        assert session.scalars(select(CalendarFeed)).all() == []


@pytest.fixture
def json_logs():
    """The program's log lines, as `ciw-bot serve` writes them."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    logging_setup.configure(logging.INFO, stream=stream, secrets=[SIGNING_SECRET])
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_tokens_never_reach_the_logs(workspace, json_logs):
    path = subscribe(workspace)
    fetch(workspace, path)
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    lines = json_logs()
    assert any(
        line.get("path") == "/calendar/…ics" and line.get("status") == "200" for line in lines
    )
    assert token not in json.dumps(lines)


def test_a_failing_feed_is_a_500_whose_log_keeps_the_token_out(workspace, json_logs, monkeypatch):
    path = subscribe(workspace)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("bot.calendar.feeds.render", broken)
    assert fetch(workspace, path).status == 500
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    lines = json_logs()
    assert any(line.get("msg") == "calendar feed failed" for line in lines)
    assert token not in json.dumps(lines)
