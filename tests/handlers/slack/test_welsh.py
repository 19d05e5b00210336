"""The Welsh version of an approved letter, through the real HTTP path: the translation pack
posted on approval, the translator's .docx uploaded into the thread, its review."""

from __future__ import annotations

import datetime as dt
import io
import json

import docx
import pytest
from docx.oxml.ns import qn
from sqlalchemy import func, select, update

from bot.letters import render
from bot.letters.translation_pack import CYMRAEG, ENGLISH
from bot.review import drafts, translation
from db.models import (
    Decision,
    Delivery,
    DraftVersion,
    HistoryEntry,
    Translation,
    WelshReview,
    WelshText,
)
from handlers.slack.events.welsh_upload import MAX_BYTES
from handlers.slack.text import visible
from tests.bot.letters.test_translation_pack import pack as some_pack
from tests.bot.letters.test_translation_pack import under_declared
from tests.conftest import outbox_settled
from tests.handlers.slack.test_draft_letter import (
    CHANNEL,
    all_text,
    list_pages,
    post_draft,
    setup_demo,
    thread_of,
)
from tests.handlers.slack.test_draft_review import (
    REVIEWER,
    answer_containing,
    click,
    current_version,
    settled,
)

TRANSLATOR = "U0TRANSLATE"


def welsh_setup(workspace, slack, runtime, clock, language: str = "both") -> int:
    """The demo records, Wrexham's letter language set by command, version 1 posted."""
    setup_demo(runtime, clock)
    reply = workspace.command(f"authority wrexham language {language}", user="U0ADMIN")
    assert "Letter language" in visible(reply.get("text"))
    post_draft(workspace, slack)
    return current_version(runtime)


def uploaded(slack, suffix: str) -> tuple[dict, bytes]:
    """The upload (completeUploadExternal call's file and thread) whose filename ends so."""

    def find(s):
        names = {c.get("filename"): i for i, c in enumerate(s.of("files.getUploadURLExternal"))}
        for name, index in names.items():
            if name.endswith(suffix) and len(s.of("files.completeUploadExternal")) > index:
                return name, index
        return None

    name, index = slack.wait_for(find)
    complete = slack.of("files.completeUploadExternal")[index]
    files = complete.get("files")
    files = json.loads(files) if isinstance(files, str) else files
    file_id = files[0]["id"]
    slack.wait_for(lambda s: file_id in s.uploads)
    return {"name": name, "id": file_id, **complete.params}, slack.uploads[file_id]


def pack_of(slack) -> tuple[dict, docx.document.Document]:
    call, data = uploaded(slack, "-cyfieithu.docx")
    return call, docx.Document(io.BytesIO(data))


def filled(pack: docx.document.Document, welsh: list[str]) -> bytes:
    """The pack as a translator returns it: the Cymraeg column written row by row."""
    table = pack.tables[0]
    for row, text in zip(table.rows[1:], welsh, strict=False):
        row.cells[1].paragraphs[0].add_run(text)
    buffer = io.BytesIO()
    pack.save(buffer)
    return buffer.getvalue()


def share(workspace, slack, runtime, name: str, content: bytes, ts: str, **kwargs) -> dict:
    """The translator uploads a file into the draft's thread: Slack's `file_share` event."""
    file = slack.share_file(name, content, user=TRANSLATOR, **kwargs)
    event = {
        "type": "message",
        "subtype": "file_share",
        "channel": CHANNEL,
        "user": TRANSLATOR,
        "text": "",
        "files": [file],
        "upload": False,
        "display_as_bot": False,
        "ts": ts,
        "event_ts": ts,
        "thread_ts": thread_of(runtime),
        "channel_type": "group",
    }
    assert workspace.event(event, event_id=f"Ev{ts.replace('.', '')}").status == 200
    return event


def posted(slack, words: str, count: int = 1):
    """The thread messages containing these words (waiting until there are `count`)."""
    return slack.wait_for(
        lambda s: (
            found
            if len(
                found := [c for c in s.of("chat.postMessage") if words in visible(c.get("text"))]
            )
            >= count
            else None
        )
    )


def ephemeral(slack, words: str):
    return slack.wait_for(
        lambda s: next(
            (c for c in s.of("chat.postEphemeral") if words in visible(c.get("text"))), None
        )
    )


def welsh_buttons(call) -> dict[str, dict]:
    actions = next(b for b in call.get("blocks") if b["type"] == "actions")
    return {e["action_id"]: e for e in actions["elements"]}


def count(runtime, model) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def approved_in_english(workspace, slack, runtime, clock) -> tuple[int, docx.document.Document]:
    version_id = welsh_setup(workspace, slack, runtime, clock)
    clock.set("2020-08-04T11:30:00")
    assert click(workspace, drafts.APPROVE, version_id).status == 200
    _, pack = pack_of(slack)
    return version_id, pack


def test_approval_posts_the_translation_pack_into_the_thread(workspace, slack, runtime, clock):
    version_id = welsh_setup(workspace, slack, runtime, clock)
    click(workspace, drafts.APPROVE, version_id)
    call, pack = pack_of(slack)
    assert call.get("thread_ts") == thread_of(runtime) and call.get("channel_id") == CHANNEL
    assert "Translation pack for version 1" in visible(call.get("initial_comment"))

    # A4, British English as the document's language.
    section = pack.sections[0]
    # Word keeps page sizes in twentieths of a point: A4 is 11906 x 16838.
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    defaults = pack.styles.element.find(qn("w:docDefaults"))
    normal_lang = pack.styles["Normal"].element.rPr.find(qn("w:lang"))
    assert normal_lang.get(qn("w:val")) == "en-GB", defaults

    # One row per paragraph of the approved letter: English beside an empty Cymraeg cell.
    (table,) = pack.tables
    assert [c.text for c in table.rows[0].cells] == [ENGLISH, CYMRAEG]
    with runtime.transaction() as session:
        elements = render.parse(session.get(DraftVersion, version_id).body)
    rows = table.rows[1:]
    assert len(rows) == len(elements)
    for row, element in zip(rows, elements, strict=True):
        english, welsh = row.cells
        assert english.text.removeprefix("• ") == element.text
        assert welsh.text == ""
    assert any("Wrexham" in row.cells[0].text for row in rows)

    # Each column's language: its paragraph style and its paragraph mark.
    def language_of(paragraph) -> tuple[str, str]:
        style_lang = paragraph.style.element.rPr.find(qn("w:lang")).get(qn("w:val"))
        mark = paragraph._p.pPr.find(qn("w:rPr")).find(qn("w:lang")).get(qn("w:val"))
        return style_lang, mark

    for row in rows:
        assert language_of(row.cells[0].paragraphs[0]) == ("en-GB", "en-GB")
        assert language_of(row.cells[1].paragraphs[0]) == ("cy-GB", "cy-GB")
    assert pack.core_properties.identifier.endswith("version=1")

    # The parent shows the English approval awaiting the Welsh text.
    update = slack.wait_calls("chat.update")[0]
    seen = all_text(update)
    assert "Status: *Approved (English), awaiting Welsh*" in seen
    assert "Welsh: the translation pack" in seen
    assert update.get("text").endswith("approved (English), awaiting Welsh")
    with runtime.transaction() as session:
        assert session.scalars(select(Translation.pack_file_id)).one() == call["id"]

    # A second approval does not post the pack again.
    click(workspace, drafts.APPROVE, version_id, user="U0SECOND")
    slack.wait_calls("chat.update", 2)
    settled(slack, runtime, lambda s: s.scalar(select(func.count()).select_from(Translation)))
    names = [c.get("filename") for c in slack.of("files.getUploadURLExternal")]
    assert sum(n.endswith("-cyfieithu.docx") for n in names) == 1


def test_the_filled_pack_is_recorded_acknowledged_and_approved(workspace, slack, runtime, clock):
    version_id, pack = approved_in_english(workspace, slack, runtime, clock)
    rows = len(pack.tables[0].rows) - 1
    welsh = [f"Paragraff {n} yn Gymraeg" for n in range(1, rows + 1)]
    clock.set("2020-08-10T09:15:00")
    event = share(
        workspace, slack, runtime, "pecyn-cyfieithu.docx", filled(pack, welsh), "1597050000.000100"
    )

    ack = posted(slack, "Welsh text recorded")[0]
    assert ack.get("thread_ts") == thread_of(runtime)
    assert f"revision 1 for version 1, from <@{TRANSLATOR}>" in ack.get("text")
    assert f"{rows} rows of the pack" in ack.get("text")
    assert slack.of("file_download")  # fetched with the bot token
    assert not slack.of("file_download_refused")
    with runtime.transaction() as session:
        text = session.scalars(select(WelshText)).one()
        assert text.paragraphs == welsh and text.source == "pack"
        assert (text.uploaded_by, text.revision, text.approved_at) == (TRANSLATOR, 1, None)
        assert text.uploaded_at.isoformat().startswith("2020-08-10T08:15")  # 09:15 BST
        text_id = text.id
    assert welsh_buttons(ack)[translation.APPROVE]["value"] == str(text_id)
    update = slack.wait_for(
        lambda s: [c for c in s.of("chat.update") if "revision 1 uploaded" in all_text(c)]
    )[0]
    assert "awaiting Welsh" in all_text(update)

    # The same upload again (Slack's retry, or the same message under another event id).
    retry_body, retry_headers = workspace.requests.event(
        event, event_id="Ev1597050000000100", retry=1
    )
    assert workspace.post(retry_body, retry_headers).status == 200
    assert workspace.event(event, event_id="Ev0SAMEMESSAGE").status == 200
    # A comment afterwards proves those events were processed (in order) and dropped.
    workspace.event(
        {
            "type": "message",
            "channel": CHANNEL,
            "user": REVIEWER,
            "text": "Diolch",
            "ts": "1597050001.000001",
            "thread_ts": thread_of(runtime),
        },
        event_id="Ev0THANKS",
    )
    slack.wait_calls("reactions.add")
    assert count(runtime, WelshText) == 1
    assert len(posted(slack, "Welsh text recorded")) == 1

    # A reviewer approves the Welsh text: the draft is approved.
    clock.set("2020-08-11T14:00:00")
    assert click(workspace, translation.APPROVE, text_id).status == 200
    note = posted(slack, "The Welsh text is approved")[0]
    assert note.get("thread_ts") == thread_of(runtime)
    final = slack.wait_for(
        lambda s: [c for c in s.of("chat.update") if "revision 1 approved" in all_text(c)]
    )[0]
    assert "Status: *Approved*" in all_text(final)
    assert final.get("text").endswith("version 1, approved")
    with runtime.transaction() as session:
        text = session.get(WelshText, text_id)
        assert text.approved_at.isoformat().startswith("2020-08-11T13:00")
        review = session.scalars(select(WelshReview)).one()
        assert (review.user_id, review.decision) == (REVIEWER, Decision.APPROVE)
        done = [
            (h.actor, h.action)
            for h in session.scalars(select(HistoryEntry).order_by(HistoryEntry.id))
            if h.action.startswith("welsh")
        ]
    assert done == [
        (REVIEWER, "welsh requested"),
        ("bot", "welsh pack"),
        (TRANSLATOR, "welsh uploaded"),
        (REVIEWER, "welsh approval"),
        (REVIEWER, "welsh approved"),
    ]
    # Approving again changes nothing and says so, privately.
    click(workspace, translation.APPROVE, text_id)
    slack.wait_for(
        lambda s: any("already approved Welsh" in (r.get("text") or "") for r in s.responses())
    )
    assert count(runtime, WelshReview) == 1
    # Once the Welsh is approved, a .docx in the thread is no longer taken as the Welsh text.
    share(workspace, slack, runtime, "later.docx", filled(pack, welsh), "1597060000.000100")
    workspace.event(
        {
            "type": "message",
            "channel": CHANNEL,
            "user": REVIEWER,
            "text": "Done",
            "ts": "1597060001.000001",
            "thread_ts": thread_of(runtime),
        },
        event_id="Ev0DONE",
    )
    slack.wait_calls("reactions.add", 2)
    assert count(runtime, WelshText) == 1
    assert version_id == current_version(runtime)


def test_a_change_request_then_a_new_upload_makes_revision_two(workspace, slack, runtime, clock):
    _, pack = approved_in_english(workspace, slack, runtime, clock)
    own = docx.Document()
    own.add_paragraph("Annwyl Alwyn Jones,")
    own.add_paragraph("")
    own.add_paragraph("Adolygiad Perfformiad Awdurdod Lleol")
    buffer = io.BytesIO()
    own.save(buffer)
    share(workspace, slack, runtime, "llythyr.docx", buffer.getvalue(), "1597050000.000200")
    ack = posted(slack, "Welsh text recorded")[0]
    assert "2 paragraphs" in ack.get("text")
    first = int(welsh_buttons(ack)[translation.APPROVE]["value"])

    click(workspace, translation.REQUEST_CHANGES, first)
    view = slack.wait_calls("views.open")[0].get("view")
    view = json.loads(view) if isinstance(view, str) else view
    answer = workspace.interact(
        {
            "type": "view_submission",
            "user": {"id": REVIEWER, "username": "u0review", "team_id": "T0CIW"},
            "trigger_id": "trigger-welsh",
            "view": {
                "id": "V2",
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view["private_metadata"],
                "state": {
                    "values": {
                        "reason": {
                            "reason": {"type": "plain_text_input", "value": "Use <!here> *Annwyl*"}
                        }
                    }
                },
            },
        }
    )
    assert answer.status == 200
    reason = posted(slack, "requested changes to the Welsh text")[0]
    assert "<!here>" not in reason.get("text") and "Use <!here> *Annwyl*" in visible(
        reason.get("text")
    )
    slack.wait_for(lambda s: [c for c in s.of("chat.update") if "changes requested" in all_text(c)])

    share(
        workspace, slack, runtime, "pecyn.docx", filled(pack, ["Annwyl"] * 3), "1597050000.000300"
    )
    second = posted(slack, "Welsh text recorded", 2)[1]
    assert "It replaces revision 1" in second.get("text")
    assert "Rows with no Welsh: 4, 5" in visible(second.get("text"))
    second_id = int(welsh_buttons(second)[translation.APPROVE]["value"])
    with runtime.transaction() as session:
        assert [t.revision for t in session.scalars(select(WelshText).order_by(WelshText.id))] == [
            1,
            2,
        ]
        request = session.scalars(select(WelshReview)).one()
        assert request.resolved_at is not None
    # The first revision's buttons no longer act.
    click(workspace, translation.APPROVE, first)
    slack.wait_for(
        lambda s: any("replaced by revision 2" in (r.get("text") or "") for r in s.responses())
    )
    click(workspace, translation.APPROVE, second_id)
    posted(slack, "The Welsh text is approved")


@pytest.mark.parametrize(
    ("name", "content", "reply"),
    [
        ("<!here> cyfieithiad.pdf", b"%PDF-1.7 ...", "it is a PDF, not a Word .docx"),
        ("hen.doc", b"\xd0\xcf\x11\xe0", "not a Word .docx"),
        ("broken.docx", b"this is not a zip at all", "not a Word document inside"),
        ("huge.docx", b"\0" * (MAX_BYTES + 1), "must be at most 10 MB"),
        # 0.2 MB whose headers declare kilobytes: its parts inflate to 200 MB.
        ("bomb.docx", under_declared(some_pack(), extra_mb=200), "unpacks to more than 50 MB"),
    ],
)
def test_a_file_that_cannot_be_the_welsh_text_is_answered_and_nothing_recorded(
    workspace, slack, runtime, clock, name, content, reply
):
    approved_in_english(workspace, slack, runtime, clock)
    share(workspace, slack, runtime, name, content, "1597050000.000400")
    answer = ephemeral(slack, reply)
    assert answer.get("user") == TRANSLATOR and answer.get("thread_ts") == thread_of(runtime)
    assert name in visible(answer.get("text")) and "<!here>" not in answer.get("text")
    assert count(runtime, WelshText) == 0
    if name == "huge.docx":
        assert not slack.of("file_download")  # refused on its size, never fetched
    assert not posted_now(slack, "Welsh text recorded")


def posted_now(slack, words: str) -> list:
    return [c for c in slack.of("chat.postMessage") if words in visible(c.get("text") or "")]


def test_an_empty_pack_and_a_damaged_docx_are_answered(workspace, slack, runtime, clock):
    _, pack = approved_in_english(workspace, slack, runtime, clock)
    share(workspace, slack, runtime, "pecyn.docx", filled(pack, []), "1597050000.000500")
    ephemeral(slack, "the Cymraeg column of the translation pack is empty")
    # A zip with a Word part whose XML is broken.
    import zipfile

    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(filled(pack, ["x"]))) as source,
        zipfile.ZipFile(buffer, "w") as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, b"<w:document" if item.filename == "word/document.xml" else data)
    share(workspace, slack, runtime, "damaged.docx", buffer.getvalue(), "1597050000.000600")
    ephemeral(slack, "is damaged and cannot be read")
    assert count(runtime, WelshText) == 0


def test_a_partial_file_object_is_completed_with_files_info(workspace, slack, runtime, clock):
    _, pack = approved_in_english(workspace, slack, runtime, clock)
    share(
        workspace,
        slack,
        runtime,
        "pecyn.docx",
        filled(pack, ["Annwyl"]),
        "1597050000.000700",
        partial=True,
        filetype="docx",
    )
    posted(slack, "Welsh text recorded")
    assert slack.of("files.info")[0].get("file").startswith("F")
    assert count(runtime, WelshText) == 1


def test_a_pack_of_an_older_version_is_refused(workspace, slack, runtime, clock):
    _, pack = approved_in_english(workspace, slack, runtime, clock)
    pack.core_properties.identifier = "ciw-translation-pack:draft=1:version=7"
    share(
        workspace, slack, runtime, "hen-becyn.docx", filled(pack, ["Annwyl"]), "1597050000.000800"
    )
    ephemeral(slack, "This translation pack is for version 7")
    assert count(runtime, WelshText) == 0


def test_language_en_posts_no_pack_and_takes_no_welsh(workspace, slack, runtime, clock):
    version_id = welsh_setup(workspace, slack, runtime, clock, language="en")
    click(workspace, drafts.APPROVE, version_id)
    update = slack.wait_calls("chat.update")[0]
    seen = all_text(update)
    assert "Status: *Approved*" in seen
    assert "awaiting Welsh" not in seen and "translation pack" not in seen
    uploaded(slack, "-approved.docx")
    fake_pack = docx.Document()
    table = fake_pack.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = ENGLISH, CYMRAEG
    table.cell(1, 0).text, table.cell(1, 1).text = "Dear", "Annwyl"
    buffer = io.BytesIO()
    fake_pack.save(buffer)
    share(workspace, slack, runtime, "pecyn.docx", buffer.getvalue(), "1597050000.000900")
    workspace.event(
        {
            "type": "message",
            "channel": CHANNEL,
            "user": REVIEWER,
            "text": "Noted",
            "ts": "1597050001.000009",
            "thread_ts": thread_of(runtime),
        },
        event_id="Ev0NOTED",
    )
    slack.wait_calls("reactions.add")
    assert count(runtime, Translation) == 0 and count(runtime, WelshText) == 0
    names = [c.get("filename") for c in slack.of("files.getUploadURLExternal")]
    assert not any(n.endswith("-cyfieithu.docx") for n in names)
    assert not slack.of("file_download") and not slack.of("chat.postEphemeral")


def test_list_shows_the_letter_awaiting_its_welsh(workspace, slack, runtime, clock):
    approved_in_english(workspace, slack, runtime, clock)
    # The drafts come last in the year's list.
    pages = list_pages(workspace, "list wrexham 2019-20")
    assert "version 1 — approved (English), awaiting Welsh" in pages[-1]


def test_a_picture_or_the_bots_own_file_is_not_taken_for_the_welsh_text(
    workspace, slack, runtime, clock
):
    _, pack = approved_in_english(workspace, slack, runtime, clock)
    share(workspace, slack, runtime, "screenshot.png", b"\x89PNG\r\n", "1597050000.001000")
    own = {
        "type": "message",
        "subtype": "file_share",
        "channel": CHANNEL,
        "user": "UBOT",
        "bot_id": "BBOT",
        "files": [slack.share_file("pecyn.docx", filled(pack, ["Annwyl"]), user="UBOT")],
        "ts": "1597050000.001001",
        "thread_ts": thread_of(runtime),
    }
    assert workspace.event(own, event_id="Ev0BOTSOWN").status == 200
    workspace.event(
        {
            "type": "message",
            "channel": CHANNEL,
            "user": REVIEWER,
            "text": "See the picture",
            "ts": "1597050001.001000",
            "thread_ts": thread_of(runtime),
        },
        event_id="Ev0PICTURE",
    )
    slack.wait_calls("reactions.add")
    assert count(runtime, WelshText) == 0
    assert not slack.of("chat.postEphemeral") and not slack.of("file_download")


def test_the_file_is_fetched_only_from_slack_and_only_with_the_bot_token(runtime, slack, settings):
    import dataclasses

    from handlers.slack.events.welsh_upload import DownloadFailed, download

    file = slack.share_file("pecyn.docx", b"PK\x03\x04 content")
    assert download(runtime, file["url_private_download"]) == b"PK\x03\x04 content"
    assert [c.get("file") for c in slack.of("file_download")] == [file["id"]]

    # Without the right token Slack answers with its sign-in page: no file.
    runtime.settings = dataclasses.replace(settings, slack_bot_token="xoxb-other")
    with pytest.raises(DownloadFailed, match="page"):
        download(runtime, file["url_private_download"])
    assert slack.of("file_download_refused")

    # The token is never sent to a host that is not Slack's.
    with pytest.raises(DownloadFailed, match="not a Slack file address"):
        download(runtime, "https://example.org/files-pri/T0CIW-F1/download/pecyn.docx")


def test_a_pack_slack_did_not_take_is_posted_by_the_clock(workspace, slack, runtime, clock):
    from bot.reminders import clock as ciw_clock

    version_id = welsh_setup(workspace, slack, runtime, clock)
    # Slack takes the approved .docx, then refuses the pack's upload, as it does:
    # HTTP 200 with ok false (https://docs.slack.dev/apis/web-api/#responses).
    slack.fail_after(
        "files.getUploadURLExternal", 1, 200, body={"ok": False, "error": "fatal_error"}
    )
    click(workspace, drafts.APPROVE, version_id)
    slack.wait_calls("failed:files.getUploadURLExternal", 1)
    settled(
        slack,
        runtime,
        lambda s: s.scalar(select(Delivery.last_error).where(Delivery.kind == "welsh-pack")),
    )
    runtime.shutdown()  # the decision's work is over: nothing else is posting the pack
    with runtime.transaction() as session:
        assert session.scalars(select(Translation.pack_file_id)).one() is None

    assert ciw_clock.run_once(runtime).sent == 0  # its retry is not due yet
    with runtime.transaction() as session:  # its retry time comes
        session.execute(
            update(Delivery)
            .where(Delivery.kind == "welsh-pack")
            .values(next_attempt_at=dt.datetime.now(dt.UTC))
        )
    assert ciw_clock.run_once(runtime).sent == 1
    call, pack = pack_of(slack)
    assert (
        call.get("thread_ts") == thread_of(runtime)
        and pack.tables[0].rows[0].cells[1].text == CYMRAEG
    )
    assert "Translation pack for version 1" in visible(call.get("initial_comment"))
    with runtime.transaction() as session:
        assert session.scalars(select(Translation.pack_file_id)).one() == call["id"]
    assert ciw_clock.run_once(runtime).sent == 0  # posted once
    # Refused once, then taken once.
    refused = [c.get("filename") for c in slack.of("failed:files.getUploadURLExternal")]
    assert len(refused) == 1 and refused[0].endswith("-cyfieithu.docx")
    names = [c.get("filename") for c in slack.of("files.getUploadURLExternal")]
    assert sum(n.endswith("-cyfieithu.docx") for n in names) == 1


def test_someone_without_a_role_cannot_record_the_welsh_text(workspace, slack, runtime, clock):
    from bot.access import roles
    from db.models import Role

    _, pack = approved_in_english(workspace, slack, runtime, clock)
    with runtime.transaction() as session:
        roles.grant(
            session, actor="U0ADMIN", user_id=REVIEWER, role=Role.REVIEWER, now=runtime.now()
        )
    share(workspace, slack, runtime, "pecyn.docx", filled(pack, ["Annwyl"]), "1597050000.001100")
    refusal = ephemeral(slack, "needs an inspector's role")
    assert refusal.get("user") == TRANSLATOR
    assert count(runtime, WelshText) == 0 and not slack.of("file_download")


def _released(slack, runtime) -> None:
    """Wait until the sender has released what Slack refused, for a later try."""
    waiting = (Delivery.sent_at.is_(None), Delivery.next_attempt_at.is_not(None))
    settled(slack, runtime, lambda s: s.scalar(select(Delivery.id).where(*waiting)))


def _retry_comes(slack, runtime) -> None:
    """The retry time of what Slack refused comes and the clock ticks; wait until all is sent.

    The process's own sender also looks again a few seconds after a failed pass, so on a
    slow machine it may be the one that sends: who sends does not matter, only that every
    message goes out, once.
    """
    from bot.reminders import clock as ciw_clock

    unsent = (
        Delivery.sent_at.is_(None),
        Delivery.cancelled_at.is_(None),
        Delivery.due_at <= runtime.now(),
    )
    with runtime.transaction() as session:
        session.execute(
            update(Delivery)
            .where(*unsent, Delivery.next_attempt_at.is_not(None))
            .values(next_attempt_at=dt.datetime.now(dt.UTC))
        )
    ciw_clock.run_once(runtime)
    settled(slack, runtime, lambda s: s.scalar(select(func.count()).where(*unsent)) == 0)


def test_the_welsh_notes_survive_slack_being_down_and_are_posted_once(
    workspace, slack, runtime, clock
):
    from bot.reminders import clock as ciw_clock

    version_id, pack = approved_in_english(workspace, slack, runtime, clock)
    outbox_settled(runtime)
    welsh = [f"Paragraff {n}" for n in range(1, len(pack.tables[0].rows))]
    clock.set("2020-08-10T09:15:00")
    # Slack is down when the upload is acknowledged: the upload is recorded all the same,
    # and its acknowledgement (with the buttons) waits for Slack instead of being lost.
    slack.fail("chat.postMessage", 503, times=100)
    share(workspace, slack, runtime, "pecyn.docx", filled(pack, welsh), "1597050000.000100")
    refused = slack.wait_calls("failed:chat.postMessage")[0]
    assert "Welsh text recorded" in visible(refused.get("text"))
    assert count(runtime, WelshText) == 1
    _released(slack, runtime)
    slack.recover("chat.postMessage")
    _retry_comes(slack, runtime)
    (ack,) = posted(slack, "Welsh text recorded")
    with runtime.transaction() as session:
        text_id = session.scalars(select(WelshText.id)).one()
    assert welsh_buttons(ack)[translation.APPROVE]["value"] == str(text_id)

    # Down again for the approval: recorded, and its note posted once Slack is back.
    failures = len(slack.of("failed:chat.postMessage"))
    slack.fail("chat.postMessage", 503, times=100)
    assert click(workspace, translation.APPROVE, text_id).status == 200
    slack.wait_calls("failed:chat.postMessage", failures + 1)
    with runtime.transaction() as session:
        assert session.get(WelshText, text_id).approved_at is not None
    _released(slack, runtime)
    slack.recover("chat.postMessage")
    _retry_comes(slack, runtime)
    (note,) = posted(slack, "The Welsh text is approved")
    assert note.get("thread_ts") == thread_of(runtime)
    assert "Status: *Approved*" in all_text(slack.of("chat.update")[-1])
    # Nothing is sent twice, however often the clock ticks or a click is repeated.
    click(workspace, translation.APPROVE, text_id)
    answer_containing(slack, "already approved Welsh")
    assert ciw_clock.run_once(runtime).sent == 0
    assert len(posted(slack, "Welsh text recorded")) == 1
    assert len(posted(slack, "The Welsh text is approved")) == 1
    assert version_id == current_version(runtime)
