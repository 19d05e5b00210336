"""`/ciw overview` in Slack through the real HTTP path: the letters of every authority made
through commands and clicks (drafts, approvals, a change request, a Welsh-language
council's letter awaiting its Welsh, issued, published) and progress recorded with
`/ciw progress`, the overview a page at a time
within Slack's limits, its CSV uploaded into the person's DM, bad input and refusals."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import func, select, update

from bot.records import findings
from bot.records.dates import ReviewYear
from bot.review import drafts, overview
from db.models import (
    Authority,
    Delivery,
    Draft,
    DraftVersion,
    LetterIssue,
)
from handlers.slack.text import visible
from tests.conftest import outbox_settled
from tests.handlers.slack.test_draft_review import click, settled, submit_reason
from tests.handlers.slack.test_letter_life import settings  # noqa: F401 - with an admin

ADMIN, REVIEWER, INSPECTOR = "U0ADMIN", "U0REVIEW", "U0INSPECT"
CHANNEL = "G0REVIEW"
URL = "https://www.careinspectorate.wales/conwy-performance-review-2019-20"
YEAR = ReviewYear(2019)


def pages(workspace, slack, typed: str, user: str = REVIEWER) -> list[dict]:
    """Every page of a listing: the first as typed, each next one by its button."""
    found = [workspace.command(typed, user=user)]
    while True:
        blocks = found[-1].get("blocks") or []
        assert len(blocks) <= 50
        assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
        buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
        if not buttons:
            return found
        [button] = buttons
        before = len(slack.responses())
        workspace.interact(
            {
                "type": "block_actions",
                "user": {"id": user, "username": "lead", "team_id": "T0CIW"},
                "channel": {"id": CHANNEL, "name": "reviews"},
                "response_url": slack.response_url(f"page-{len(found)}"),
                "actions": [
                    {
                        "type": "button",
                        "action_id": button["action_id"],
                        "value": button["value"],
                        "action_ts": "1.1",
                    }
                ],
            }
        )
        found.append(slack.wait_for(lambda s, seen=before: s.responses()[seen:] or None)[0])


def read(reply) -> str:
    """What a person reads of a reply: its mrkdwn decoded, bold marks gone."""
    return visible(reply.get("text")).replace("*", "")


def version_of(runtime, slug: str) -> int:
    with runtime.transaction() as session:
        return session.scalars(
            select(DraftVersion.id)
            .join(Draft, DraftVersion.draft_id == Draft.id)
            .join(Authority, Draft.authority_id == Authority.id)
            .where(Authority.slug == slug)
            .order_by(DraftVersion.number.desc())
        ).first()


def drafted(workspace, slack, runtime, slug: str) -> int:
    """`draft-letter <slug> 2019-20` in the review channel, posted whole: its version's id."""
    uploads = len(slack.of("files.completeUploadExternal"))
    workspace.command(f"draft-letter {slug} 2019-20", user=INSPECTOR, channel=CHANNEL)
    slack.wait_calls("files.completeUploadExternal", uploads + 1)
    outbox_settled(runtime)
    return version_of(runtime, slug)


def approved(workspace, slack, runtime, slug: str) -> int:
    version_id = drafted(workspace, slack, runtime, slug)
    assert click(workspace, drafts.APPROVE, version_id).status == 200
    settled(slack, runtime, lambda session: session.get(DraftVersion, version_id).approved_at)
    outbox_settled(runtime)
    return version_id


def records_of_a_year(workspace, slack, runtime, clock) -> None:
    """Wrexham's 2019-20 activities and findings, and 2018-19's improvements, by command;
    then, by 3 August 2020, letters in every state."""
    for typed in [
        "log-activity wrexham children 2019-09-24 focused activity in children's services",
        "log-activity wrexham adults 2019-10-15 inspection of the CMHT --postponed COVID-19",
        "log-activity wrexham adults 2019-11-05 performance review meeting --cancelled",
        "log-activity wrexham both 2020-03-20 improvement conference",  # scheduled on 2 March
        "log-activity wrexham both 2020-05-11 next year's meeting",  # another year's
        "log-finding wrexham 2019-20 prevention strength adults Good early help.",
        "log-finding wrexham 2019-20 people improvement children Supervision is irregular.",
        "log-finding wrexham 2018-19 partnerships improvement Carers' assessments are late.",
        "log-finding wrexham 2018-19 people improvement Waiting lists are long.",
    ]:
        assert "Nothing was recorded" not in visible(workspace.command(typed).get("text"))
    clock.set("2020-08-03T10:00:00")
    # Progress on one of 2018-19's improvements (F3), recorded for 2019-20; and one
    # recorded for 2020-21, which 2019-20's overview does not count.
    for typed in (
        "progress F3 2019-20 Carers' assessments are now made within the month.",
        "progress F4 2020-21 The waiting lists are shorter.",
    ):
        assert "Nothing was recorded" not in visible(workspace.command(typed).get("text"))

    drafted(workspace, slack, runtime, "newport")  # in review
    changes = drafted(workspace, slack, runtime, "cardiff")
    click(workspace, drafts.REQUEST_CHANGES, changes)
    opened = slack.wait_calls("views.open")[-1].get("view")
    opened = json.loads(opened) if isinstance(opened, str) else opened
    submit_reason(workspace, opened["private_metadata"], "The plan is missing.")
    settled(
        slack,
        runtime,
        lambda session: drafts.tally(session, session.get(DraftVersion, changes), 1).open_requests,
    )
    approved(workspace, slack, runtime, "wrexham")
    workspace.command("authority swansea language both", user=ADMIN)
    approved(workspace, slack, runtime, "swansea")  # awaiting its Welsh
    approved(workspace, slack, runtime, "powys")
    workspace.command("issue powys 2019-20 2020-08-03", user=REVIEWER)
    approved(workspace, slack, runtime, "conwy")
    workspace.command("issue conwy 2019-20", user=REVIEWER)
    workspace.command(f"publish conwy 2019-20 {URL}", user=REVIEWER)
    outbox_settled(runtime)


def test_the_overview_shows_every_letter_state_a_page_at_a_time(workspace, slack, runtime, clock):
    records_of_a_year(workspace, slack, runtime, clock)

    # The domain, over the records the commands made.
    with runtime.transaction() as session:
        found = overview.overview(session, YEAR, today=runtime.today(), required=1)
    rows = {row.slug: row for row in found.rows}
    states = {slug: row.letter.state for slug, row in rows.items()}
    assert {slug: state for slug, state in states.items() if state != overview.NO_DRAFT} == {
        "newport": overview.IN_REVIEW,
        "cardiff": overview.CHANGES_REQUESTED,
        "wrexham": overview.APPROVED,
        "swansea": overview.AWAITING_WELSH,
        "powys": overview.ISSUED,
        "conwy": overview.PUBLISHED,
    }
    assert set(states.values()) == set(overview.STATES)
    wrexham = rows["wrexham"]
    assert wrexham.activities == overview.Activities(1, 1, 1, 1)
    assert (wrexham.strengths, wrexham.improvements, wrexham.progress, wrexham.earlier) == (
        1,
        1,
        1,
        2,
    )
    assert rows["conwy"].letter.published_url == URL
    assert rows["powys"].letter.issued_on == dt.date(2020, 8, 3)
    assert found.days_since_end == 125 and found.totals.late == 20

    # In Slack, as a reviewer types it: the pages, each within Slack's limits.
    shown = pages(workspace, slack, "overview 2019-20")
    assert len(shown) >= 2
    assert all(page.get("response_type") == "ephemeral" for page in shown)
    text = "\n".join(read(page) for page in shown)
    assert "Letters for 2019-20, all 22 authorities: 2 of 22 issued (1 published), 20 late" in text
    assert "the year ended on 31 March 2020, 125 days ago" in text
    with runtime.transaction() as session:
        councils = list(session.scalars(select(Authority.english_name)))
    for council in councils:
        assert text.count(f"{council}:") == 1, council
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert len(lines) == 22
    expected = [
        ("Cardiff Council", "version 1: changes requested · :warning: 125 days late"),
        ("Newport City Council", "version 1 in review · :warning: 125 days late"),
        (
            "City and County of Swansea Council",
            "version 1 approved in English, awaiting Welsh · :warning: 125 days late",
        ),
        ("Wrexham County Borough Council", "version 1 approved, ready to issue"),
        ("Powys County Council", "issued on 3 August 2020 · activities"),
        ("Conwy County Borough Council", f"issued on 3 August 2020, published at {URL}"),
    ]
    # What needs attention first: no draft (16 of them), then the others in order.
    assert all(": no draft · :warning: 125 days late" in line for line in lines[:16])
    for line, (council, words) in zip(lines[16:], expected, strict=True):
        assert line.startswith(f"• {council}: ") and words in line, line
    wrexham_line = lines[19]
    assert (
        "activities: 1 scheduled, 1 completed, 1 postponed, 1 cancelled · "
        "findings: 1 strength, 1 improvement · progress: 1 of 2" in wrexham_line
    )
    assert "Totals: 2 of 22 issued (1 published), 20 late" in text
    assert "no draft 16, changes requested 1, in review 1, awaiting Welsh 1" in text
    last = read(shown[-1])
    assert last.endswith(
        "`/ciw overview 2019-20 csv` sends you the same as a CSV file.\n\n_Page 2 of 2._"
    )
    # The year by default: the last that has ended; `page 2` typed as the button does.
    default = workspace.command("overview", user=REVIEWER)
    assert visible(default.get("text")) == visible(shown[0].get("text"))
    second = workspace.command("overview 2019-20 page 2", user=REVIEWER)
    assert visible(second.get("text")) == visible(shown[1].get("text"))


def test_the_csv_is_uploaded_into_the_persons_dm_and_runs_nothing(workspace, slack, runtime, clock):
    clock.set("2020-08-03T10:00:00")
    workspace.command("log-activity conwy children 2019-09-24 focused activity")
    approved(workspace, slack, runtime, "conwy")
    workspace.command("issue conwy 2019-20", user=REVIEWER)
    workspace.command(f"publish conwy 2019-20 {URL}", user=REVIEWER)
    outbox_settled(runtime)
    # An address that would run in a spreadsheet (it cannot be typed: `publish` takes only
    # https): the file shows it and runs nothing.
    with runtime.transaction() as session:
        session.execute(update(LetterIssue).values(published_url='=HYPERLINK("http://x","y")'))
    uploads = len(slack.of("files.completeUploadExternal"))

    reply = workspace.command("overview 2019-20 csv", user=REVIEWER, channel="C0PUBLIC")
    assert reply.get("response_type") == "ephemeral"
    assert "as a CSV file is on its way to you in a direct message" in visible(reply.get("text"))
    done = slack.wait_calls("files.completeUploadExternal", uploads + 1)[-1]
    assert done.get("channel_id") == "D0REVIEW"  # their DM, whatever channel they typed in
    assert "The overview of the letters for 2019-20" in visible(done.get("initial_comment"))
    asked = slack.of("files.getUploadURLExternal")[-1]
    assert asked.get("filename") == "ciw-overview-2019-20-2020-08-03.csv"
    files = done.get("files")
    file_id = (json.loads(files) if isinstance(files, str) else files)[0]["id"]
    content = slack.wait_for(lambda s: s.uploads.get(file_id))
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 as Excel reads it
    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(table) == 1 + 22 + 1
    header = table[0]
    assert header[:3] == ["Local authority", "Letter", "State"]
    conwy = next(row for row in table if row[0] == "Conwy County Borough Council")
    cells = dict(zip(header, conwy, strict=True))
    assert cells["State"] == "published" and cells["Issued on"] == "2020-08-03"
    assert cells["Published at"] == '\'=HYPERLINK("http://x","y")'
    # Within a cell's text it is words: only a cell's first character makes a formula.
    assert cells["Letter"] == 'issued on 3 August 2020, published at =HYPERLINK("http://x","y")'
    assert cells["Days since the year ended (not issued)"] == ""
    assert (cells["Completed"], cells["Scheduled"]) == ("1", "0")
    wrexham = dict(zip(header, next(r for r in table if r[0].startswith("Wrexham")), strict=True))
    assert (wrexham["State"], wrexham["Days since the year ended (not issued)"]) == (
        "no draft",
        "125",
    )
    total = dict(zip(header, table[-1], strict=True))
    assert total["Local authority"] == "Total" and total["Letter"] == "1 of 22 issued (1 published)"
    assert total["Days since the year ended (not issued)"] == "21"
    # Nothing of a text cell anywhere starts a formula.
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)
    outbox_settled(runtime)


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("overview 2019-21", "`2019-21` is not a review year"),
        ("overview 2019", "`2019` is not a review year"),
        ("overview wrexham", "`wrexham` is neither"),
        ("overview 2019-20 pdf", "`pdf` is neither"),
        ("overview 2019-20 2020-21", "`2020-21` is neither"),
        ("overview csv csv", "`csv` is neither"),
        ("overview 2019-20 page 0", "is not a page number"),
        ("overview 2019-20 page 9", "There is no page 9"),
    ],
)
def test_bad_input_is_answered_with_the_right_form_and_queues_nothing(
    workspace, runtime, typed, words
):
    reply = workspace.command(typed, user=REVIEWER)
    assert reply.get("response_type") == "ephemeral"
    assert words in visible(reply.get("text"))
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_inspectors_are_refused_clearly_and_guests_as_everywhere(workspace, slack, runtime):
    workspace.command("role <@U0INSPECT|ann> inspector", user=ADMIN)
    workspace.command("role <@U0REVIEW|bea> reviewer", user=ADMIN)
    for typed in ("overview", "overview 2019-20 csv"):
        refused = visible(workspace.command(typed, user=INSPECTOR).get("text"))
        assert "`/ciw overview` needs a reviewer's role, and yours is inspector" in refused
    slack.users["U0GUEST"] = {"is_restricted": True}
    guest = visible(workspace.command("overview", user="U0GUEST").get("text"))
    assert "guest accounts cannot use it" in guest
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
    # A reviewer and an admin may.
    for lead in (REVIEWER, ADMIN):
        assert "all 22 authorities" in visible(workspace.command("overview", user=lead).get("text"))


def test_findings_of_another_year_and_removed_ones_are_not_counted(workspace, runtime, clock):
    clock.set("2020-08-03T10:00:00")
    workspace.command("log-finding wrexham 2019-20 people strength Good supervision.")
    workspace.command("log-finding wrexham 2019-20 people strength Removed later.")
    workspace.command("log-finding wrexham 2020-21 people strength Next year's.")
    workspace.command("remove F2")
    with runtime.transaction() as session:
        assert findings.get_finding(session, 1).review_year == 2019
        found = overview.overview(session, YEAR, today=runtime.today(), required=1)
    wrexham = next(row for row in found.rows if row.slug == "wrexham")
    assert (wrexham.strengths, wrexham.improvements) == (1, 0)
