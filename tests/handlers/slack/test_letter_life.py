"""A letter's life after approval in Slack, through the real HTTP path: issued with its final
files in the review thread, published, refused when it is not ready, amended by an admin."""

from __future__ import annotations

import io
import json
import threading

import docx
import pytest
from sqlalchemy import func, select

from bot.review import drafts, translation
from bot.settings import Settings
from db.models import DraftVersion, HistoryEntry, IssuedFile, LetterIssue, Review, WelshReview
from handlers.slack.text import visible
from tests.conftest import SIGNING_SECRET, outbox_settled
from tests.handlers.slack.test_app_home import home_text
from tests.handlers.slack.test_draft_letter import (
    CHANNEL,
    all_text,
    list_pages,
    post_draft,
    thread_of,
)
from tests.handlers.slack.test_draft_review import click, current_version, settled, started
from tests.handlers.slack.test_welsh import (
    approved_in_english,
    filled,
    posted,
    share,
)

COUNCIL = "Wrexham County Borough Council"
ENGLISH_NAME = f"{COUNCIL} 2019-20 performance review letter.docx"
WELSH_NAME = f"{COUNCIL} 2019-20 performance review letter (Cymraeg).docx"
URL = "https://www.careinspectorate.wales/wrexham-performance-review-2019-20"
ADMIN = "U0ADMIN"


@pytest.fixture
def settings(slack, engine):
    return Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=str(engine.url),
        admins=frozenset({ADMIN}),
    )


def count(runtime, model) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def finals(slack) -> dict[str, bytes]:
    """The final files uploaded so far, by name, with their bytes as Slack got them."""
    names = [c.get("filename") for c in slack.of("files.getUploadURLExternal")]
    completed = slack.of("files.completeUploadExternal")
    out = {}
    for index, name in enumerate(names):
        if name in (ENGLISH_NAME, WELSH_NAME) and index < len(completed):
            files = completed[index].get("files")
            file_id = (files if isinstance(files, list) else json.loads(files))[0]["id"]
            if file_id in slack.uploads:
                out[name] = slack.uploads[file_id]
    return out


def home_opened(user: str) -> dict:
    """Slack's app_home_opened event: someone opens the bot's Home tab."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": f"D{user[1:]}",
        "tab": "home",
        "event_ts": "1596621600.000100",
    }


def approved(workspace, slack, runtime, clock) -> int:
    """Wrexham's 2019-20 letter (English only) posted and approved on 4 August 2020."""
    version_id = started(workspace, slack, runtime, clock)
    clock.set("2020-08-04T11:30:00")
    assert click(workspace, drafts.APPROVE, version_id).status == 200
    # The click is recorded after its ack: wait for the approval itself, then its messages.
    settled(slack, runtime, lambda session: session.get(DraftVersion, version_id).approved_at)
    outbox_settled(runtime)
    return version_id


def test_an_approved_letter_is_issued_with_its_final_file_in_the_thread(
    workspace, slack, runtime, clock
):
    approved(workspace, slack, runtime, clock)
    clock.set("2020-08-05T10:00:00")
    reply = workspace.command("issue wrexham 2019-20", user="U0REVIEW")
    text = visible(reply.get("text"))
    assert reply.get("response_type") == "ephemeral"
    assert f"The letter to {COUNCIL} for 2019-20 is issued" in text
    assert "dated 5 August 2020" in text and ENGLISH_NAME in text

    note = posted(slack, "Version 1 is issued")[0]
    assert note.get("thread_ts") == thread_of(runtime) and note.get("channel") == CHANNEL
    assert "dated 5 August 2020, by <@U0REVIEW>" in note.get("text")
    files = slack.wait_for(lambda s: finals(s) or None)
    assert list(files) == [ENGLISH_NAME]  # English only: no Welsh letter
    document = docx.Document(io.BytesIO(files[ENGLISH_NAME]))
    body = "\n".join(p.text for p in document.paragraphs)
    assert "5 August 2020" in body and "DRAFT" not in body
    parent = slack.wait_for(
        lambda s: [c for c in s.of("chat.update") if "Issued on" in all_text(c)]
    )[-1]
    assert "Issued on 5 August 2020 by <@U0REVIEW>" in all_text(parent)
    assert parent.get("text").endswith("version 1, issued")

    with runtime.transaction() as session:
        issue = session.scalars(select(LetterIssue)).one()
        assert (issue.issued_on.isoformat(), issue.issued_by) == ("2020-08-05", "U0REVIEW")
        kept = session.scalars(select(IssuedFile)).one()
        assert (kept.language, kept.name) == ("en", ENGLISH_NAME)
        assert kept.content == files[ENGLISH_NAME]  # Slack got exactly what is kept
        actions = [h.action for h in session.scalars(select(HistoryEntry))]
    assert "issued" in actions

    # Issuing again says when, and changes nothing.
    clock.set("2020-08-06T09:00:00")
    again = visible(workspace.command("issue wrexham 2019-20", user="U0REVIEW").get("text"))
    assert "already issued on 5 August 2020 by <@U0REVIEW>" in again
    outbox_settled(runtime)
    assert count(runtime, LetterIssue) == 1 and count(runtime, IssuedFile) == 1
    assert len(posted(slack, "Version 1 is issued")) == 1

    # `list` shows where the letter stands.
    listing = list_pages(workspace, "list wrexham 2019-20")[-1]
    assert "version 1 — issued on 5 August 2020 by <@U0REVIEW>" in listing


def test_an_issued_letter_is_published_and_a_bad_address_is_refused(
    workspace, slack, runtime, clock
):
    approved(workspace, slack, runtime, clock)
    assert workspace.event(home_opened("U0REVIEW")).status == 200
    home = visible(home_text(slack.wait_calls("views.publish")[-1].get("view")))
    assert f"{COUNCIL}, 2019-20, version 1: approved, ready to issue" in home
    clock.set("2020-08-05T10:00:00")
    refused = visible(
        workspace.command(f"publish wrexham 2019-20 {URL}", user="U0REVIEW").get("text")
    )
    assert "has not been issued" in refused
    workspace.command("issue wrexham 2019-20", user="U0REVIEW")
    outbox_settled(runtime)

    for bad, words in [
        ("http://example.org/letter", "is not an https address"),
        ("javascript:alert(1)", "is not an https address"),
        ("https://", "is not an https address"),
        ("https://" + "a" * 2100 + ".wales", "too long"),
    ]:
        answer = visible(
            workspace.command(f"publish wrexham 2019-20 {bad}", user="U0REVIEW").get("text")
        )
        assert words in answer and "Nothing was recorded" in answer
    with runtime.transaction() as session:
        assert session.scalars(select(LetterIssue.published_url)).one() is None

    reply = visible(
        workspace.command(f"publish wrexham 2019-20 {URL}", user="U0REVIEW").get("text")
    )
    assert f"recorded as published at {URL}" in reply
    note = posted(slack, "Published")[0]
    assert URL in visible(note.get("text")) and note.get("thread_ts") == thread_of(runtime)
    parent = slack.wait_for(
        lambda s: [c for c in s.of("chat.update") if "published at" in all_text(c)]
    )[-1]
    assert parent.get("text").endswith("version 1, published")
    # The same address again changes nothing; `list` shows the link.
    same = visible(workspace.command(f"publish wrexham 2019-20 {URL}", user="U0REVIEW").get("text"))
    assert "already recorded as published" in same
    outbox_settled(runtime)
    assert len(posted(slack, "Published")) == 1
    assert f"published at {URL}" in list_pages(workspace, "list wrexham 2019-20")[-1]
    # And the App Home lists where the approved letters stand.
    assert workspace.event(home_opened("U0REVIEW")).status == 200
    home = visible(home_text(slack.wait_calls("views.publish", 2)[-1].get("view")))
    assert (
        f"{COUNCIL}, 2019-20, version 1: issued on 5 August 2020 by <@U0REVIEW>, "
        f"published at {URL}" in home
    )


def test_a_letter_not_ready_is_not_issued_and_nothing_is_recorded(workspace, slack, runtime, clock):
    version_id = started(workspace, slack, runtime, clock)
    answer = visible(workspace.command("issue wrexham 2019-20", user="U0REVIEW").get("text"))
    assert "Version 1 of the letter is not approved yet" in answer
    clock.set("2020-08-04T11:30:00")
    click(workspace, drafts.APPROVE, version_id)
    settled(slack, runtime, lambda session: session.get(DraftVersion, version_id).approved_at)
    outbox_settled(runtime)
    for typed, words in [
        ("issue wrexham 2019-20 2020-08-05", "after today"),  # today is 4 August
        ("issue wrexham 2019-20 03/08/2020", "not final until 4 August 2020"),
        ("issue wrexham 2019-20 2020-02-30", "2020-02-30"),
        ("issue wrexham 2019-20 2020-08-04 extra", "is not complete"),
        ("issue nowhere", "nowhere"),
    ]:
        reply = visible(workspace.command(typed, user="U0REVIEW").get("text"))
        assert words in reply, (typed, reply)
    assert count(runtime, LetterIssue) == 0 and count(runtime, IssuedFile) == 0


def test_issuing_and_publishing_need_a_reviewer_once_roles_are_given(
    workspace, slack, runtime, clock
):
    approved(workspace, slack, runtime, clock)
    workspace.command("role <@U0INSPECT|inspect> inspector", user=ADMIN)
    workspace.command("role <@U0REVIEW|review> reviewer", user=ADMIN)
    refused = visible(workspace.command("issue wrexham 2019-20", user="U0INSPECT").get("text"))
    assert "needs a reviewer's role" in refused
    assert count(runtime, LetterIssue) == 0
    assert "is issued" in visible(
        workspace.command("issue wrexham 2019-20", user="U0REVIEW").get("text")
    )
    refused = visible(workspace.command(f"publish wrexham {URL}", user="U0INSPECT").get("text"))
    assert "needs a reviewer's role" in refused
    with runtime.transaction() as session:
        assert session.scalars(select(LetterIssue.published_url)).one() is None


def test_a_guest_can_neither_issue_nor_publish(workspace, slack, runtime, clock):
    approved(workspace, slack, runtime, clock)
    slack.users["U0GUEST"] = {"is_restricted": True}
    refusals = len(slack.responses())
    for typed in ("issue wrexham 2019-20", f"publish wrexham 2019-20 {URL}"):
        # The first is acknowledged at once and refused through its response_url once Slack
        # has said who this is; the next, already known, is refused in the ack itself.
        answer = workspace.post(*workspace.requests.command(typed, user="U0GUEST"))
        assert answer.status == 200
        if answer.body:
            reply = json.loads(answer.body)
        else:
            refusals += 1
            reply = slack.wait_calls("response_url", refusals)[-1].params
        assert "guest accounts cannot use it" in visible(reply["text"])
    assert count(runtime, LetterIssue) == 0


def test_a_welsh_language_letter_is_issued_only_with_its_approved_welsh_in_two_files(
    workspace, slack, runtime, clock
):
    version_id, pack = approved_in_english(workspace, slack, runtime, clock)
    answer = visible(workspace.command("issue wrexham 2019-20", user="U0REVIEW").get("text"))
    assert "its Welsh text is not approved yet" in answer

    rows = len(pack.tables[0].rows) - 1
    welsh = [f"Paragraff {n} yn Gymraeg" for n in range(1, rows + 1)]
    clock.set("2020-08-10T09:15:00")
    share(workspace, slack, runtime, "pecyn.docx", filled(pack, welsh), "1597050000.000100")
    posted(slack, "Welsh text recorded")
    with runtime.transaction() as session:
        text_id = translation.latest(translation.for_version(session, version_id)).id
    clock.set("2020-08-11T14:00:00")
    click(workspace, translation.APPROVE, text_id)
    posted(slack, "The Welsh text is approved")

    clock.set("2020-08-12T10:00:00")
    # Dated before the Welsh was approved: refused; on the day it was: issued.
    early = visible(
        workspace.command("issue wrexham 2019-20 2020-08-10", user="U0REVIEW").get("text")
    )
    assert "not final until 11 August 2020" in early
    reply = visible(
        workspace.command("issue wrexham 2019-20 2020-08-11", user="U0REVIEW").get("text")
    )
    assert "dated 11 August 2020" in reply and WELSH_NAME in reply
    files = slack.wait_for(lambda s: finals(s) if len(finals(s)) == 2 else None)
    assert list(files) == [ENGLISH_NAME, WELSH_NAME]  # English first, as queued
    welsh_text = "\n".join(p.text for p in docx.Document(io.BytesIO(files[WELSH_NAME])).paragraphs)
    assert "Paragraff 1 yn Gymraeg" in welsh_text and "DRAFT" not in welsh_text
    # Nothing more is recorded on an issued version: not a Welsh decision, not an approval.
    reviews = count(runtime, WelshReview)
    assert click(workspace, drafts.APPROVE, version_id, user="U0OTHER").status == 200
    refused = slack.wait_for(
        lambda s: [r for r in s.responses() if "it is final" in visible(r.get("text"))] or None
    )[0]
    assert "was issued on 11 August 2020" in visible(refused.get("text"))
    assert count(runtime, WelshReview) == reviews
    with runtime.transaction() as session:
        assert session.scalars(select(LetterIssue.version_id)).one() == version_id
        assert len(session.scalars(select(Review)).all()) == 1  # the one approval before


def test_after_the_issue_only_an_admin_drafts_again_and_it_amends_the_issued_letter(
    workspace, slack, runtime, clock
):
    approved(workspace, slack, runtime, clock)
    clock.set("2020-08-05T10:00:00")
    workspace.command("issue wrexham 2019-20", user="U0REVIEW")
    outbox_settled(runtime)

    refused = visible(
        workspace.command("draft-letter wrexham 2019-20", user="U0INSPECT").get("text")
    )
    assert "was issued on 5 August 2020" in refused and "Only an admin" in refused
    assert count(runtime, DraftVersion) == 1

    clock.set("2020-09-01T10:00:00")
    post_draft(workspace, slack, user=ADMIN, uploads=3)  # v1 draft, v1 approved, v2 draft
    assert count(runtime, DraftVersion) == 2
    parent = slack.wait_for(
        lambda s: [c for c in s.of("chat.update") if "amends the letter" in all_text(c)]
    )[-1]
    assert "This version amends the letter issued on 5 August 2020." in all_text(parent)
    version_two = current_version(runtime)
    click(workspace, drafts.APPROVE, version_two)
    settled(slack, runtime, lambda session: session.get(DraftVersion, version_two).approved_at)
    outbox_settled(runtime)
    reply = visible(workspace.command("issue wrexham 2019-20", user="U0REVIEW").get("text"))
    assert "is issued" in reply and "dated 1 September 2020" in reply
    with runtime.transaction() as session:
        issued = session.execute(
            select(LetterIssue.version_id, LetterIssue.issued_on).order_by(LetterIssue.id)
        ).all()
    assert [day.isoformat() for _, day in issued] == ["2020-08-05", "2020-09-01"]


def test_reviewers_issuing_at_the_same_moment_issue_once(workspace, slack, runtime, clock):
    approved(workspace, slack, runtime, clock)
    barrier = threading.Barrier(4)
    replies: list[str] = []

    def issue(n: int) -> None:
        barrier.wait()
        reply = workspace.command("issue wrexham 2019-20", user=f"U0REVIEW{n}")
        replies.append(visible(reply.get("text")))

    threads = [threading.Thread(target=issue, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outbox_settled(runtime)
    assert sum("is issued" in r for r in replies) == 1, replies
    assert sum("already issued" in r for r in replies) == 3, replies
    assert count(runtime, LetterIssue) == 1 and count(runtime, IssuedFile) == 1
    assert len(posted(slack, "Version 1 is issued")) == 1
