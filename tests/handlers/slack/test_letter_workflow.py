"""A second authority and year, logged through `/ciw` as inspectors would (signed requests
through the app), drafted, and read line by line: a postponement and a cancellation logged
after the fact, a reschedule into the next year, an activity corrected with `edit A<id>`,
notes, the Welsh addressing, and the completeness check on the review message."""

from __future__ import annotations

import io

import docx
from docx.oxml.ns import qn
from sqlalchemy import select

from bot.review import draft_versions
from db.models import Activity, ActivityStatus, Draft, HistoryEntry, Note
from handlers.slack.text import visible
from tests.conftest import outbox_settled

CHANNEL = "G0REVIEW"


def said(call) -> str:
    return visible(call.get("text") or "")


def all_text(call) -> str:
    out = []
    for block in call.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
    return visible("\n".join(out))


def draft_parent(slack) -> str:
    """What the draft's review message (the one with the review buttons) shows."""
    posts = slack.of("chat.postMessage")
    return all_text(
        next(
            c
            for c in posts
            if any(b.get("block_id") == "draft_review" for b in c.get("blocks") or [])
        )
    )


def log_cardiff_year(workspace, clock) -> None:
    """Cardiff's 2021-22, as its inspectors record it during and after the year."""
    command = workspace.command
    assert "County Hall" in said(
        command("authority cardiff address County Hall; Atlantic Wharf; Cardiff; CF10 4UW")
    )
    clock.set("2021-09-01T09:00:00")
    assert "(scheduled)" in said(
        command(
            "log-activity cardiff children 2021-10-12..2021-10-13 focused activity in "
            "children's services | to review selected files"
        )
    )
    command("log-activity cardiff both 2022-02-08 improvement conference")
    command("log-activity cardiff adults 2021-11-16 assurance check")
    # The conference moves into the next review year: it is then the plan's.
    assert "A2" in said(command("reschedule A2 2022-05-17 | at the council's request"))

    clock.set("2022-05-10T09:00:00")
    reply = said(
        command(
            "log-activity cardiff adults 2021-12-07 performance review meeting "
            "--postponed at the council's request | with the head of adults services"
        )
    )
    assert "A4" in reply and "(postponed)" in reply
    reply = said(
        command(
            "log-activity cardiff both 2022-03-22 annual performance review meeting "
            "\u2014cancelled due to COVID-19 restrictions"
        )
    )
    assert "A5" in reply and "(cancelled)" in reply
    # A past activity logged plainly is one that took place.
    assert "(completed)" in said(command("log-activity cardiff children 2021-06-15 site visit"))
    # Corrections: the focused activity ran a day longer; the details said too little.
    reply = said(command("edit A1 dates 2021-10-12..2021-10-14"))
    assert "12 to 14 October 2021" in reply and "was: Tue 12 Oct 2021 to Wed 13 Oct" in reply
    command("edit A1 details to review selected files and records")
    command("edit A6 title inspection site visit")
    command("edit A6 service both")

    command(
        "log-finding cardiff 2021-22 well-being improvement adults Waiting lists for "
        "assessments grew over the year."
    )
    command(
        "log-finding cardiff 2021-22 well-being strength children A1 Children's plans were "
        "up to date and reviewed on time."
    )
    command(
        "log-finding cardiff 2021-22 people strength both Staff across both services told us "
        "they feel supported."
    )
    reply = said(
        command(
            "note cardiff 2021-22 intro We met the director and senior officers in person for "
            "the first time since 2019."
        )
    )
    assert "N1" in reply and "intro" in reply
    command("note cardiff 2021-22 plan Our national review of <https://example.org/r|carers> ran.")
    command("note cardiff 2021-22 plan A draft that will be removed.")
    command("note cardiff 2021-22 prevention A wider remark on prevention.")
    assert "was: Our national" in said(
        command(
            "edit N2 Our national review of <https://www.careinspectorate.wales/carers|carers> "
            "will report in 2022-23."
        )
    )
    assert "N3" in said(command("remove N3"))
    # Welsh is the council's language of correspondence as well as English.
    command("authority cardiff language both")


EXPECTED = """\
Director of Social Services
Cyngor Caerdydd
Cardiff Council
County Hall
Atlantic Wharf
Cardiff
CF10 4UW
Date: 10 May 2022
Dear Director of Social Services,
Care Inspectorate Wales (CIW) Local Authority Performance Review April 2021 - March 2022
Rydym yn croesawu derbyn gohebiaeth yn Gymraeg. Byddwn yn ateb gohebiaeth a dderbynnir yn Gymraeg yn Gymraeg ac ni fydd gohebu yn Gymraeg yn arwain at oedi.
We welcome receiving correspondence in Welsh. Any correspondence received in Welsh will be answered in Welsh and corresponding in Welsh will not lead to a delay in responding.
The code of practice for review of local authority social services in April 2019 outlines our intention to write and publish an annual letter for local authorities which will:
- provide feedback on inspection and performance evaluation activity completed by us during the year
- report on progress the local authority has made in implementing recommendations from inspections and/or child and adult practice reviews
- outline our forward work programme
This letter summarises our review of Cardiff Council's performance in carrying out its statutory social services functions from April 2021 - March 2022.
We met the director and senior officers in person for the first time since 2019.
However, we believe that there remains significant benefits in identifying and drawing the attention of the local authority and its partners, to the areas of both strengths and improvements required. The letter is intended to assist the local authority and its partners to continually improve.
It follows the four principles of the Social Services and Well-being (Wales) Act 2014 and our increasingly collaborative and strengths-based approach to supporting improvement.
The content of this letter is informed by the performance evaluation activity undertaken by the inspectorate during the course of the year. This activity included:
Children's Services:
- inspection site visit, 15 June 2021
- focused activity in children's services, 12 to 14 October 2021 to review selected files and records
- annual performance review meeting, 22 March 2022 (cancelled: due to COVID-19 restrictions)
Adults Services:
- inspection site visit, 15 June 2021
- assurance check, 16 November 2021
- performance review meeting, 7 December 2021 with the head of adults services (postponed: at the council's request)
- annual performance review meeting, 22 March 2022 (cancelled: due to COVID-19 restrictions)
During the course of the year we have been in discussions with the local authority during the activity listed above, and as such, our annual performance letter content is an accurate reflection of our ongoing findings which we have consistently shared with the local authority.
Summary of strengths and areas for improvement in line with principles of the 2014 Act
Well-being
Children's plans were up to date and reviewed on time.
Waiting lists for assessments grew over the year.
People
Staff across both services told us they feel supported.
Prevention
A wider remark on prevention.
Partnerships
No strengths or areas for improvement were recorded under this principle for April 2021 - March 2022.
CIW Performance Review Plan for 2022-2023
Our national review of carers (https://www.careinspectorate.wales/carers) will report in 2022-23.
Our planned performance evaluation activity for April 2022 - March 2023 includes:
- improvement conference, 17 May 2022
We continue to work closely with Social Care Wales to support improvement in social care services.
You will note that this letter has been copied to colleagues in Audit Wales, Estyn and HIW. CIW works closely with partner inspectorates to consider the wider corporate perspective in which social services operate, as well as local context for social services performance.
We will publish the final version of this letter on our website.
Yours sincerely,
Lou Bushell-Bauers
Head of Local Authority Inspection Team
Cc.
Audit Wales
HIW
Estyn"""


def test_a_year_logged_through_commands_drafts_line_by_line(workspace, slack, runtime, clock):
    log_cardiff_year(workspace, clock)
    listed = said(workspace.command("list cardiff 2021-22"))
    assert "*Notes*" in workspace.command("list cardiff 2021-22").get("text")
    assert "N1" in listed and "N2" in listed and "N4" in listed and "N3" not in listed
    assert "edited dates (was: Tue 12 Oct 2021 to Wed 13 Oct 2021)" in listed

    reply = workspace.command("draft-letter cardiff 2021-22", channel=CHANNEL)
    assert "Posted version 1" in said(reply)
    slack.wait_for(lambda s: len(s.uploads) >= 1)
    outbox_settled(runtime)  # the upload is marked on the version once Slack took it

    with runtime.transaction() as session:
        draft = session.scalars(select(Draft)).one()
        version = draft.versions[0]
        lines = draft_versions.text_lines(version)
        file_id = version.file_id
    assert lines == EXPECTED.split("\n")

    # Every activity once: the rescheduled conference only in the plan, the postponed and
    # cancelled ones only in the year's lists.
    text = "\n".join(lines)
    assert text.count("improvement conference") == 1
    assert "will be rearranged" not in text

    # The Word file says the same, with the draft marking and the Welsh statement in Welsh.
    document = docx.Document(io.BytesIO(slack.uploads[file_id]))
    paragraphs = [
        f"- {p.text}" if p.style.name == "List Bullet" else p.text for p in document.paragraphs
    ]
    assert paragraphs[0] == "DRAFT \u2013 version 1"
    # (A link is a hyperlink in Word: its label in the text, its address in the link.)
    address = " (https://www.careinspectorate.wales/carers)"
    assert "\n".join(paragraphs[1:]).split("\n") == EXPECTED.replace(address, "").split("\n")
    link = next(document.element.body.iter(qn("w:hyperlink")))
    assert document.part.rels[link.get(qn("r:id"))].target_ref == address[2:-1]
    welsh = next(p for p in document.paragraphs if p.text.startswith("Rydym"))
    assert {e.get(qn("w:val")) for e in welsh._p.iter(qn("w:lang"))} == {"cy-GB"}

    # The review message says what the letter still lacks; it was posted all the same.
    parent = draft_parent(slack)
    assert "Before this letter can go out" in parent
    assert "No director's name: `/ciw authority cardiff director <name>`" in parent
    assert "No findings under prevention" in parent
    assert "No findings under partnerships" in parent
    assert "No address" not in parent and "plan for" not in parent
    assert "A1 is still scheduled but its date (2021-10-12) has passed" in parent
    assert "A3 is still scheduled but its date (2021-11-16) has passed" in parent

    with runtime.transaction() as session:
        assessed = session.get(Activity, 4)
        assert assessed.status is ActivityStatus.POSTPONED
        assert assessed.status_reason == "at the council's request"
        assert session.get(Activity, 5).status is ActivityStatus.CANCELLED
        actions = session.scalars(
            select(HistoryEntry.action).where(
                HistoryEntry.subject == "activity", HistoryEntry.subject_id == "1"
            )
        ).all()
        assert actions == ["logged", "edited dates", "edited details"]
        removed = session.get(Note, 3)
        assert removed.removed_at is not None and removed.removed_by == "U0INSPECT"
        note_actions = session.scalars(
            select(HistoryEntry.action).where(HistoryEntry.subject == "note")
        ).all()
        assert note_actions.count("edited") == 1 and note_actions.count("removed") == 1


def test_once_complete_the_review_message_has_no_warning(workspace, slack, runtime, clock):
    log_cardiff_year(workspace, clock)
    command = workspace.command
    command("authority cardiff director Sarah McGill")
    command("complete A1")
    command("complete A3")
    command("log-finding cardiff 2021-22 prevention improvement children Early help was slow.")
    command("log-finding cardiff 2021-22 partnerships strength adults The region works well.")
    command("draft-letter cardiff 2021-22", channel=CHANNEL)
    slack.wait_for(lambda s: len(s.uploads) >= 1)
    parent = draft_parent(slack)
    assert "Before this letter can go out" not in parent
    with runtime.transaction() as session:
        version = session.scalars(select(Draft)).one().versions[0]
        assert version.warnings == []
        lines = draft_versions.text_lines(version)
    assert lines[:2] == ["Sarah McGill", "Director of Social Services"]
    assert "Dear Sarah McGill," in lines
    assert "- assurance check, 16 November 2021" in lines
