"""`/ciw overview` in Teams, through the Bot Connector's request format: one Adaptive Card
with a `Table` of the 22 authorities (checked by the documented rules and Microsoft's own
library, within Teams' size limit however large the figures), the CSV as a download link
in the person's chat, downloaded over HTTP and parsed, and the refusals."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import requests
from sqlalchemy import func, select, update

from bot.records.dates import ReviewYear
from bot.render import Templates
from bot.review import overview
from db.models import Delivery, FileLink, HistoryEntry, LetterIssue
from handlers.commands.base import Reply
from handlers.teams import cards
from handlers.teams import overview as teams_overview
from tests.handlers.teams.test_adaptivecards import checker, validate
from tests.handlers.teams.test_cards import problems
from tests.handlers.teams.test_welsh import click
from tests.handlers.teams.world import CHANNEL, card_of, posted_draft, text_of

URL = "https://www.careinspectorate.wales/wrexham-performance-review-2019-20"
LINK = re.compile(r"\[([^\]]+)\]\((https?://127\.0\.0\.1:\d+/files/[A-Za-z0-9_-]+)\)")


def table_of(card: dict) -> dict:
    (table,) = [element for element in card["body"] if element["type"] == "Table"]
    return table


def lines_of(table: dict) -> list[str]:
    """The table as read: a row to a line, its cells joined by ` | `."""
    return [
        " | ".join(" ".join(item["text"] for item in cell["items"]) for cell in row["cells"])
        for row in table["rows"]
    ]


def issued_and_published(org) -> None:
    """Wrexham's 2019-20 letter drafted, approved, issued and published; Cardiff's in review."""
    org.runtime.clock.set("2020-08-03T10:00:00")
    draft = posted_draft(org)
    click(org, "draft_approve", {"value": str(draft["version"])}, "bea", draft)
    org.say("issue wrexham 2019-20", "bea")
    org.say(f"publish wrexham 2019-20 {URL}", "bea")
    org.say("draft-letter cardiff 2019-20", "ann", channel=CHANNEL)


def test_the_overview_is_one_card_with_a_table_of_the_22(org):
    issued_and_published(org)
    before = len(org.replies(org["bea"].chat))
    org.say("overview 2019-20", "bea")
    answers = org.replies(org["bea"].chat)[before:]
    assert len(answers) == 1  # one card, whole
    card = card_of(answers[0])
    assert card["version"] == "1.5" and problems(card) == []
    assert cards.activity_size(answers[0]) <= cards.BUDGET
    assert "all 22 authorities: 1 of 22 issued (1 published)" in answers[0]["summary"]
    table = table_of(card)
    assert table["firstRowAsHeader"] is True and len(table["columns"]) == 4
    assert len(table["rows"]) == 1 + 22 + 1
    lines = [line.replace("\\", "") for line in lines_of(table)]
    assert lines[0].startswith("Local authority | Letter | Activities: scheduled")
    assert lines[-2].startswith(
        "Wrexham County Borough Council | issued on 3 August 2020, published"
    )
    assert URL not in lines[-2]  # the address is the CSV's and `list`'s: a card holds 22 rows
    assert lines[-3].startswith("Cardiff Council | version 1 in review · **125 days late**")
    assert lines[-2].endswith("| 0 · 1 · 0 · 0 | 0 · 0 · none to report")
    assert lines[-1].startswith("**Total** | 1 of 22 issued (1 published) · **21 late**")
    read = text_of(answers[0])
    assert "As of 3 August 2020; the year ended on 31 March 2020, 125 days ago." in read
    assert "/ciw overview 2019-20 csv sends you the same as a CSV file." in read
    # Microsoft's own library finds nothing in it (where node and the package are there).
    checker()
    assert validate([card]) == [[]]


def test_the_largest_overview_fits_one_card_and_is_valid():
    """Every authority at the longest its cells can be: the card still fits Teams' limit."""
    letter = overview.Letter(overview.AWAITING_WELSH, 999)
    biggest = overview.Activities(9999, 9999, 9999, 9999)
    rows = tuple(
        overview.Row(
            "neath-port-talbot",
            "Neath Port Talbot County Borough Council",
            letter,
            biggest,
            9999,
            9999,
            9999,
            9999,
            99999,
        )
        for _ in range(22)
    )
    found = overview.Overview(
        ReviewYear(2019), dt.date(2294, 1, 1), 99999, rows, overview._totals(list(rows))
    )
    runtime = type("Runtime", (), {"templates": Templates()})()
    neutral, card = teams_overview.card(runtime, Reply("overview", {"overview": found}))
    made = cards.activity(card, summary=cards.summary_of(neutral))
    assert cards.activity_size(made) <= cards.BUDGET
    assert problems(card) == []
    checker()
    assert validate([card]) == [[]]


def test_the_csv_is_a_link_in_the_persons_chat_downloaded_and_parsed(files_org):
    org = files_org
    issued_and_published(org)
    with org.runtime.transaction() as session:  # what a spreadsheet would run
        session.execute(update(LetterIssue).values(published_url="@SUM(A1:A9)"))
    org.say("overview 2019-20 csv", "bea", channel=CHANNEL)  # asked in a channel
    assert "on its way to you in your chat with the bot" in org.last("bea")
    said = [text_of(a) for a in org.posted(org["bea"].chat)]
    assert "The overview of the letters for 2019-20 as a CSV file:" in said[-1]
    # The link came by the outbox, in the person's personal chat only.
    (message,) = [a for a in org.posted(org["bea"].chat) if "as a CSV file:" in text_of(a)]
    raw = "\n".join(b.get("text", "") for b in card_of(message)["body"])
    ((name, url),) = LINK.findall(raw)
    assert name.replace("\\", "") == "ciw-overview-2019-20-2020-08-03.csv"
    assert not any("as a CSV file:" in text_of(a) for a in org.posted(CHANNEL))

    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="ciw-overview-2019-20-2020-08-03.csv"' in answer.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert len(table) == 24 and table[-1][0] == "Total"
    header = table[0]
    wrexham = dict(zip(header, table[-2], strict=True))
    assert (wrexham["State"], wrexham["Issued on"], wrexham["Version"]) == (
        "published",
        "2020-08-03",
        "1",
    )
    assert wrexham["Published at"] == "'@SUM(A1:A9)"  # shown, never run
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)
    with org.runtime.transaction() as session:
        link = session.scalars(select(FileLink).where(FileLink.kind == "overview")).one()
        assert (link.review_year, link.version_id, link.created_by) == (2019, None, org["bea"].aad)
        [download] = session.scalars(
            select(HistoryEntry).where(HistoryEntry.action == "downloaded")
        ).all()
        assert (download.subject, download.subject_id) == ("overview", "2019-20")
    # The link makes the file when it is opened: the records as they are then.
    org.say("log-activity cardiff adults 2019-10-01 focused activity", "ann")
    again = list(csv.reader(io.StringIO(requests.get(url, timeout=10).content.decode("utf-8-sig"))))
    cardiff = dict(zip(header, next(r for r in again if r[0] == "Cardiff Council"), strict=True))
    assert cardiff["Completed"] == "1"


def test_without_a_public_address_the_csv_says_how_to_have_it(org):
    org.say("overview 2019-20 csv", "bea")
    said = [text_of(a) for a in org.posted(org["bea"].chat)]  # the outbox's message too
    assert any("cannot be linked here" in text and "--format csv" in text for text in said)
    with org.runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(FileLink)) == 0


def test_inspectors_and_guests_are_refused_and_bad_input_explained(org):
    ann, alex = org["ann"], org["alex"]
    org.say(f"role {ann.at} admin", "ann", channel=CHANNEL, mentions=(ann,))
    org.say(f"role {alex.at} inspector", "ann", channel=CHANNEL, mentions=(alex,))
    org.say("overview 2019-20", "alex")
    assert "/ciw overview needs a reviewer's role, and yours is inspector" in org.last("alex")
    org.say("overview 2019-20 csv", "alex")
    assert "needs a reviewer's role" in org.last("alex")
    org.say("overview", "gus")
    assert "guest accounts cannot use it" in org.last("gus")
    org.say("overview wrexham", "ann")
    assert "is neither" in org.last("ann") and "all 22 authorities" in org.last("ann")
    org.say("overview 2019-21", "ann")
    assert "is not a review year" in org.last("ann")
    with org.runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
    org.say("overview", "ann")  # an admin may: the last year that has ended by default
    assert "Letters for" in org.last("ann")
