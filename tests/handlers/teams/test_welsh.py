"""The Welsh half of a letter in Teams, over real HTTP: the English approved, the translation
pack a download link in the draft's reply chain, the translator sending the filled pack (or
a Welsh .docx of their own with `welsh <authority> [<year>]`) to the bot in its personal
chat as Teams delivers a file (a `file.download.info` attachment whose `downloadUrl` the
fake cloud serves over HTTPS with its own CA), the Welsh revision recorded and reviewed on
the draft's card; and every way a file can be refused, with nothing recorded."""

from __future__ import annotations

import io
import re
import time
import tracemalloc
from typing import Any

import docx
import pytest
import requests
from sqlalchemy import func, select

from bot.letters.translation_pack import CYMRAEG, ENGLISH, MAX_FILE_BYTES
from bot.review import translation
from db.models import (
    Comment,
    Draft,
    DraftVersion,
    FileLink,
    HistoryEntry,
    Translation,
    WelshText,
)
from handlers.teams import welsh
from tests.bot.letters.test_translation_pack import under_declared
from tests.handlers.teams.double import FILE_INFO, delivered_attachments
from tests.handlers.teams.test_cards import problems
from tests.handlers.teams.world import (
    CHANNEL,
    Org,
    card_of,
    posted_draft,
    text_of,
)

MESSAGE = "application/vnd.microsoft.activity.message"
CARD = "application/vnd.microsoft.card.adaptive"
LINK = re.compile(r"\((https?://127\.0\.0\.1:\d+/files/[A-Za-z0-9_-]+)\)")


@pytest.fixture
def org(files_org):
    """The Teams app with the plain routes behind it (conftest's `files_org`)."""
    return files_org


def count(org: Org, model: Any, *where: Any) -> int:
    with org.runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def chain(org: Org, draft: dict) -> list[dict]:
    """The bot's messages in the draft's reply chain, oldest first."""
    return [a for a in org.posted(CHANNEL) if a.get("replyToId") == draft["root"]]


def chain_text(org: Org, draft: dict) -> list[str]:
    return [text_of(a) for a in chain(org, draft)]


def root_card(org: Org, draft: dict) -> dict:
    return card_of(org.cloud.conversations[CHANNEL].activities[draft["root"]])


def click(org: Org, verb: str, data: dict, who: str, draft: dict) -> dict:
    answer = org.click(verb, data, org[who], conversation=draft["conversation"])
    assert answer.status_code == 200, answer.text
    org.settle()
    return answer.json()


def approved_in_english(org: Org) -> dict:
    """Wrexham corresponds in both languages; its draft posted in the channel and approved
    in English by Bea."""
    org.say("authority wrexham language both", "ann")
    draft = posted_draft(org)
    click(org, "draft_approve", {"value": str(draft["version"])}, "bea", draft)
    return draft


def pack_link(org: Org, draft: dict) -> str:
    """The translation pack's address, as its note in the reply chain links it."""
    (note,) = [a for a in chain(org, draft) if "Translation pack for version" in text_of(a)]
    raw = "\n".join(b.get("text", "") for b in card_of(note)["body"])
    (url,) = LINK.findall(raw)
    return url


def filled(pack: bytes, welsh_rows: list[str] | None = None) -> bytes:
    """The pack as a translator returns it: the Cymraeg column written row by row."""
    document = docx.Document(io.BytesIO(pack))
    rows = document.tables[0].rows[1:]
    for number, row in enumerate(rows, start=1):
        text = welsh_rows[number - 1] if welsh_rows else f"Paragraff {number} yn Gymraeg"
        row.cells[1].paragraphs[0].add_run(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def own_docx(*paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def send(
    org: Org,
    who: str,
    attachment: dict | None,
    text: str = "",
    *,
    channel: str | None = None,
    activity: dict | None = None,
) -> dict:
    """`who` sends the bot a message with a file, as Teams delivers it: in their personal
    chat, or (`channel`) a post that @mentions the bot, whose file Teams never hands over."""
    if activity is None:
        activity = org.message(text, org[who], channel=channel)
        kind = activity["conversation"]["conversationType"]
        attachments = [attachment] if attachment is not None else []
        activity["attachments"] = delivered_attachments(kind, attachments)
        if not text:
            activity.pop("text")  # a file on its own: Teams sends no text
    answer = org.post(activity)
    assert answer.status_code == 200, answer.text
    org.settle()
    return activity


def hosted(org: Org, attachment: dict):
    return org.cloud.files[attachment["content"]["uniqueId"]]


# -- the whole way ---------------------------------------------------------------------------
def test_the_welsh_half_in_teams_from_pack_link_to_approved(org):
    draft = approved_in_english(org)

    # The pack is a link in the reply chain; the card shows the English approved, awaiting Welsh.
    url = pack_link(org, draft)
    note = next(t for t in chain_text(org, draft) if "Translation pack for version 1" in t)
    assert "ciw-letter-wrexham-2019-20-v1-cyfieithu.docx" in note
    assert "send the .docx to the bot in your personal chat" in note
    assert "welsh wrexham 2019-20" in note
    card = root_card(org, draft)
    words = text_of({"attachments": [{"contentType": CARD, "content": card}]})
    assert "Approved (English), awaiting Welsh" in words
    assert "the translator sends the Welsh .docx to the bot in their personal chat" in words
    assert problems(card) == []

    # Downloaded through the link, it is the pack: English beside an empty Cymraeg column.
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200
    assert "cyfieithu.docx" in answer.headers["Content-Disposition"]
    pack = docx.Document(io.BytesIO(answer.content))
    assert [c.text for c in pack.tables[0].rows[0].cells] == [ENGLISH, CYMRAEG]
    assert all(row.cells[1].text == "" for row in pack.tables[0].rows[1:])
    with org.runtime.transaction() as session:
        (link,) = session.scalars(select(FileLink).where(FileLink.kind == "pack")).all()
        assert link.version_id == draft["version"]
        (download,) = session.scalars(
            select(HistoryEntry).where(HistoryEntry.action == "downloaded")
        ).all()
        assert download.changes["kind"] == "pack"
    rows = len(pack.tables[0].rows) - 1

    # Alex, the translator, sends the filled pack to the bot in their personal chat.
    attachment = org.cloud.send_file("pecyn-cyfieithu.docx", filled(answer.content))
    activity = send(org, "alex", attachment)
    file = hosted(org, attachment)
    assert file.gets == 1 and file.served == file.size  # fetched once, whole, no token
    told = org.last("alex")
    assert "Recorded: pecyn-cyfieithu.docx is Welsh revision 1 of the letter to Wrexham" in told
    assert f"{rows} rows of the pack" in told and "reply chain in Reviews" in told
    with org.runtime.transaction() as session:
        text = session.scalars(select(WelshText)).one()
        assert (text.revision, text.source, text.uploaded_by) == (1, "pack", org["alex"].aad)
        assert text.paragraphs == [f"Paragraff {n} yn Gymraeg" for n in range(1, rows + 1)]
        assert text.file_id == attachment["content"]["uniqueId"]
        assert text.file_name == "pecyn-cyfieithu.docx"
        text_id = text.id

    # In the reply chain: who sent it, with the Welsh review's buttons.
    recorded = [a for a in chain(org, draft) if "Welsh text recorded" in text_of(a)]
    assert len(recorded) == 1
    assert "revision 1 for version 1, sent to the bot by Alex Jones" in text_of(recorded[0])
    verbs = [a.get("verb") for a in card_of(recorded[0])["actions"]]
    assert verbs[0] == translation.APPROVE

    # The card in the channel shows the Welsh state, and the Welsh review's buttons.
    card = root_card(org, draft)
    words = text_of({"attachments": [{"contentType": CARD, "content": card}]})
    assert "Welsh: revision 1 uploaded by Alex Jones, awaiting review" in words
    approve, request, new = card["actions"]
    assert (approve["type"], approve["verb"], approve["data"]["value"]) == (
        "Action.Execute",
        translation.APPROVE,
        str(text_id),
    )
    assert approve["title"] == "Approve Welsh" and request["title"] == "Request changes to Welsh"
    assert request["type"] == "Action.ShowCard"
    (send_reason,) = request["card"]["actions"]
    assert (send_reason["type"], send_reason["verb"]) == (
        "Action.Execute",
        translation.REQUEST_CHANGES,
    )
    assert new["verb"] == "draft_new_version"
    assert problems(card) == []

    # The same activity again (the Bot Connector retrying): nothing twice.
    send(org, "alex", None, activity=activity)
    assert count(org, WelshText) == 1
    assert sum("Welsh text recorded" in t for t in chain_text(org, draft)) == 1
    assert file.gets == 1

    # Bea approves the Welsh from the card: the letter is approved in English and Welsh.
    answer = click(org, approve["verb"], approve["data"], "bea", draft)
    assert answer["type"] == MESSAGE and "approved Welsh revision 1" in answer["value"]
    again = click(org, approve["verb"], approve["data"], "bea", draft)  # a double click
    assert "already" in again["value"].lower()
    with org.runtime.transaction() as session:
        assert session.get(WelshText, text_id).approved_at is not None
        version = session.get(DraftVersion, draft["version"])
        assert translation.overall_status(session, version, "approved") == "approved"
    words = text_of(org.cloud.conversations[CHANNEL].activities[draft["root"]])
    assert "Status: Approved" in words and "awaiting Welsh" not in words
    assert "revision 1 approved" in words
    assert any("The Welsh text is approved" in t for t in chain_text(org, draft))
    assert next(a["verb"] for a in root_card(org, draft)["actions"] if "verb" in a) == (
        "draft_approve"
    )

    # Once the Welsh is approved a file is no Welsh text any more.
    late = org.cloud.send_file("hwyr.docx", filled(answer_bytes(url)))
    send(org, "alex", late)
    told = org.last("alex")
    assert "hwyr.docx was not recorded as the Welsh text" in told
    assert "no letter to Wrexham County Borough Council for 2019-20 is waiting" in told
    assert count(org, WelshText) == 1


def answer_bytes(url: str) -> bytes:
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200
    return answer.content


def test_a_welsh_document_of_their_own_needs_welsh_and_the_authority(org):
    draft = approved_in_english(org)
    mine = own_docx("Annwyl Alwyn Jones,", "", "Adolygiad Perfformiad Awdurdod Lleol")

    # Without words it cannot say which letter it is the Welsh of.
    first = org.cloud.send_file("llythyr.docx", mine)
    send(org, "alex", first)
    assert "does not say which letter" in org.last("alex")
    assert "welsh <authority> [<year>]" in org.last("alex")
    assert count(org, WelshText) == 0

    # A mistyped authority is answered with the closest names, and nothing fetched.
    wrong = org.cloud.send_file("llythyr.docx", mine)
    send(org, "alex", wrong, "welsh wrexhm 2019-20")
    assert "wrexham" in org.last("alex").lower() and count(org, WelshText) == 0
    assert hosted(org, wrong).gets == 0

    # `welsh wrexham` with no file attached.
    send(org, "alex", None, "welsh wrexham")
    assert "attach the Welsh .docx" in org.last("alex")

    # With `welsh wrexham 2019-20` it is recorded, as a document's paragraphs.
    named = org.cloud.send_file("llythyr.docx", mine)
    send(org, "alex", named, "welsh wrexham 2019-20")
    assert "Welsh revision 1" in org.last("alex") and "2 paragraphs" in org.last("alex")
    with org.runtime.transaction() as session:
        text = session.scalars(select(WelshText)).one()
        assert text.source == "document"
        assert text.paragraphs == ["Annwyl Alwyn Jones,", "Adolygiad Perfformiad Awdurdod Lleol"]

    # A reviewer asks for changes from the card: the reason form, as the English one.
    (_, request, _) = root_card(org, draft)["actions"]
    (send_reason,) = request["card"]["actions"]
    ask = click(org, send_reason["verb"], {**send_reason["data"], "reason": ""}, "bea", draft)
    assert ask["type"] == CARD and problems(ask["value"]) == []
    box = next(e for e in ask["value"]["body"] if e.get("id") == "reason")
    assert box["isRequired"] is True
    done = click(
        org,
        send_reason["verb"],
        {**send_reason["data"], "reason": "Use the council's Welsh name."},
        "bea",
        draft,
    )
    assert "requested changes to Welsh revision 1" in done["value"]
    assert any("Use the council's Welsh name." in t for t in chain_text(org, draft))
    words = text_of(org.cloud.conversations[CHANNEL].activities[draft["root"]])
    assert "changes requested" in words

    # The translator's next file is revision 2, and resolves the request.
    again = org.cloud.send_file("llythyr-2.docx", own_docx("Annwyl Gyfarwyddwr,"))
    send(org, "alex", again, "ciw welsh wrexham")  # the year left out: one letter awaits
    assert "Welsh revision 2" in org.last("alex")
    assert sum("Welsh text recorded" in t for t in chain_text(org, draft)) == 2
    assert "It replaces revision 1" in chain_text(org, draft)[-1]


def test_the_pack_of_an_older_version_is_refused(org):
    draft = approved_in_english(org)
    pack = docx.Document(io.BytesIO(answer_bytes(pack_link(org, draft))))
    with org.runtime.transaction() as session:
        draft_id = session.scalars(select(Draft.id)).one()
    pack.core_properties.identifier = f"ciw-translation-pack:draft={draft_id}:version=7"
    out = io.BytesIO()
    pack.save(out)
    send(org, "alex", org.cloud.send_file("hen-becyn.docx", filled(out.getvalue())))
    told = org.last("alex")
    assert "This translation pack is for version 7" in told
    assert "its link is in the draft's reply chain" in told
    assert count(org, WelshText) == 0

    # A pack whose draft awaits no Welsh (here: one that does not exist).
    pack.core_properties.identifier = "ciw-translation-pack:draft=999:version=1"
    out = io.BytesIO()
    pack.save(out)
    send(org, "alex", org.cloud.send_file("arall.docx", filled(out.getvalue())))
    assert "translation pack of no letter awaiting its Welsh here" in org.last("alex")
    assert count(org, WelshText) == 0


# -- who may send it, and where --------------------------------------------------------------
def test_a_file_sent_in_a_channel_never_reaches_the_bot_and_is_pointed_to_the_chat(org):
    draft = approved_in_english(org)
    pack = filled(answer_bytes(pack_link(org, draft)))
    attachment = org.cloud.send_file("pecyn.docx", pack)
    activity = send(org, "alex", attachment, "welsh wrexham", channel=CHANNEL)
    assert not [a for a in activity.get("attachments") or [] if a["contentType"] == FILE_INFO]
    assert "Teams gives the bot files only here" in org.last("alex")
    said_there = [text_of(a) for a in org.replies(CHANNEL) if a.get("replyToId") == activity["id"]]
    assert said_there and "personal chat" in said_there[-1]
    assert hosted(org, attachment).gets == 0 and count(org, WelshText) == 0
    # In a draft's reply chain `@CIW welsh …` is no review comment either.
    reply = org.message("welsh wrexham", org["alex"], channel=CHANNEL, thread=draft["root"])
    assert org.post(reply).status_code == 200
    org.settle()
    assert "Teams gives the bot files only here" in org.last("alex")
    assert count(org, Comment) == 0


def test_someone_without_an_inspectors_role_or_a_guest_is_refused_before_any_fetch(org):
    draft = approved_in_english(org)
    pack = filled(answer_bytes(pack_link(org, draft)))
    # Roles are enforced from the first grant: Ann an admin, Alex none.
    ann = org["ann"]
    org.say(f"role {ann.at} admin", "ann", channel=CHANNEL, mentions=(ann,))
    refused = org.cloud.send_file("pecyn.docx", pack)
    send(org, "alex", refused)
    assert "needs an inspector's role" in org.last("alex")
    assert hosted(org, refused).gets == 0
    assert (
        count(
            org,
            HistoryEntry,
            HistoryEntry.action == "refused",
            HistoryEntry.actor == org["alex"].aad,
        )
        == 1
    )
    guest = org.cloud.send_file("pecyn.docx", pack)
    send(org, "gus", guest)
    assert "guest accounts cannot use it" in org.last("gus")
    assert hosted(org, guest).gets == 0
    assert count(org, WelshText) == 0
    # Granted the role, Alex's same file is taken.
    alex = org["alex"]
    org.say(f"role {alex.at} inspector", "ann", channel=CHANNEL, mentions=(alex,))
    send(org, "alex", org.cloud.send_file("pecyn.docx", pack))
    assert "Welsh revision 1" in org.last("alex") and count(org, WelshText) == 1


def test_no_welsh_is_taken_for_a_letter_approved_in_english_only(org):
    org.say("authority wrexham language en", "ann")
    draft = posted_draft(org)
    click(org, "draft_approve", {"value": str(draft["version"])}, "bea", draft)
    assert not any("Translation pack" in t for t in chain_text(org, draft))
    attachment = org.cloud.send_file("llythyr.docx", own_docx("Annwyl"))
    send(org, "alex", attachment, "welsh wrexham")
    assert "No letter to Wrexham County Borough Council is waiting" in org.last("alex")
    assert hosted(org, attachment).gets == 0
    assert count(org, Translation) == 0 and count(org, WelshText) == 0


# -- hostile and failing files -----------------------------------------------------------------
@pytest.fixture
def waiting(org):
    """A letter awaiting its Welsh, its pack as downloaded, and filled as a translator would."""
    draft = approved_in_english(org)
    pack = answer_bytes(pack_link(org, draft))
    return draft, pack, filled(pack)


def refused(org: Org, attachment: dict, words: str) -> None:
    send(org, "alex", attachment)
    told = org.last("alex")
    assert words in told, told
    assert count(org, WelshText) == 0
    assert not [a for a in org.posted(CHANNEL) if "Welsh text recorded" in text_of(a)]


def test_a_file_that_is_no_word_document_is_refused_without_fetching_it(org, waiting):
    for name, content, words in (
        ("<at>Bea</at> cyfieithiad.pdf", b"%PDF-1.7", "it is a PDF, not a Word .docx"),
        ("hen.doc", b"\xd0\xcf\x11\xe0", "an old Word document (.doc), not a Word .docx"),
        ("llun.png", b"\x89PNG\r\n", "it is a .png file, not a Word .docx"),
    ):
        attachment = org.cloud.send_file(name, content)
        refused(org, attachment, words)
        assert "send that file here" in org.last("alex")
        assert hosted(org, attachment).gets == 0
    # A typed name is shown as typed, never as markup (no mention, no HTML).
    (first,) = [a for a in org.replies(org["alex"].chat) if "cyfieithiad.pdf" in text_of(a)]
    assert "<at>Bea</at> cyfieithiad.pdf" in text_of(first)
    assert "<at>" not in str(card_of(first)) and not first.get("entities")
    # More than one file in a message: one at a time.
    _, _, pack = waiting
    activity = org.message("", org["alex"])
    activity["attachments"] = [
        org.cloud.send_file("a.docx", pack),
        org.cloud.send_file("b.docx", pack),
    ]
    send(org, "alex", None, activity=activity)
    assert "the message has 2 files" in org.last("alex") and count(org, WelshText) == 0


def test_a_zip_bomb_and_a_damaged_docx_are_refused_by_what_they_really_hold(org, waiting):
    _, empty, pack = waiting
    bomb = under_declared(pack, extra_mb=200)  # ~0.2 MB whose parts inflate to 200 MB
    assert len(bomb) < MAX_FILE_BYTES
    refused(org, org.cloud.send_file("pecyn.docx", bomb), "unpacks to more than 50 MB")
    refused(
        org,
        org.cloud.send_file("pecyn.docx", b"PK\x03\x04 not a zip at all"),
        "not a Word document inside",
    )
    refused(
        org,
        org.cloud.send_file("gwag.docx", empty),
        "the Cymraeg column of the translation pack is empty",
    )


def test_a_download_url_serving_more_than_it_says_is_cut_off_while_it_streams(org, waiting):
    # No length declared (chunked), 200 MB: read no further than the cap.
    endless = org.cloud.send_file("pecyn.docx", 200 * 2**20, length="chunked")
    started = time.monotonic()
    refused(org, endless, "it is more than 10 MB, and a Welsh letter must be at most 10 MB")
    served = hosted(org, endless).served
    # What the fake managed to write before the bot hung up: the cap and the sockets' buffers.
    assert served < MAX_FILE_BYTES + 16 * 2**20, served
    assert time.monotonic() - started < 15

    # A length over the cap: refused on the headers, the body never read.
    declared = org.cloud.send_file("pecyn.docx", 200 * 2**20)
    refused(org, declared, "it is 200.0 MB, and a Welsh letter must be at most 10 MB")
    assert hosted(org, declared).served < 16 * 2**20

    # A length that says less than it sends: no more than it says is read.
    _, _, pack = waiting
    liar = org.cloud.send_file("pecyn.docx", pack + b"\0" * (20 * 2**20), length=len(pack) // 2)
    refused(org, liar, "it is not a Word document inside")


@pytest.mark.parametrize(
    "behaviour",
    [
        "fail",  # the URL answers 500
        "expired",  # fetched after its few minutes: 401
        "hang",  # no answer at all
        "drip",  # a byte at a time, for ever
        "plain http",  # a download URL that is not https: never fetched
    ],
)
def test_a_download_url_that_fails_or_hangs_is_answered_politely(
    org, waiting, monkeypatch, behaviour
):
    _, _, pack = waiting
    # The test sets how long the bot waits for a file (30 s in service), rather than waiting.
    monkeypatch.setattr(welsh, "DOWNLOAD_SECONDS", 0.4)
    options = {"behaviour": behaviour} if behaviour in ("fail", "hang", "drip") else {}
    attachment = org.cloud.send_file("pecyn.docx", pack, **options)
    file = hosted(org, attachment)
    if behaviour == "expired":
        file.issued -= org.cloud.download_lifetime + 1
    if behaviour == "plain http":
        content = attachment["content"]
        content["downloadUrl"] = content["downloadUrl"].replace("https://", "http://")
    started = time.monotonic()
    refused(org, attachment, "Teams did not hand the bot the file just now")
    assert time.monotonic() - started < 10  # the deadline held, the sender free again
    assert "send it again" in org.last("alex")
    assert file.gets == (0 if behaviour == "plain http" else 1)
    file.release.set()
    refusals = {"fail": [500], "expired": [401]}.get(behaviour, [])
    assert [r.status for r in org.cloud.expect_refusals()] == refusals
    # Sent again, it is taken.
    send(org, "alex", org.cloud.send_file("pecyn.docx", pack))
    assert "Welsh revision 1" in org.last("alex") and count(org, WelshText) == 1


def test_a_hostile_download_costs_little_memory(org, waiting):
    """Measured: the peak of what Python allocates (the bot's work after the answer, and
    the fake's, in this process) while refusing a 200 MB chunked stream, then a zip bomb
    that inflates to 200 MB."""
    _, _, pack = waiting
    for attachment, words in (
        (
            org.cloud.send_file("pecyn.docx", 200 * 2**20, length="chunked"),
            "more than 10 MB",
        ),
        (
            org.cloud.send_file("pecyn.docx", under_declared(pack, extra_mb=200)),
            "unpacks to more than 50 MB",
        ),
    ):
        tracemalloc.start()
        try:
            send(org, "alex", attachment)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert words in org.last("alex")
        # The cap's buffer (10 MB, grown as it fills) and little else: never the 200 MB.
        assert peak < 3 * MAX_FILE_BYTES, (words, peak)
    assert count(org, WelshText) == 0


def test_no_file_name_or_typed_word_reaches_the_logs(org, waiting, cloud):
    # `waiting`: a letter awaiting its Welsh, so the last file is recorded.
    from tests.logs import captured, leaked

    secret = "jane.doe-dob-03-04-2015-safeguarding"
    fragments = ["jane.doe", "03-04-2015", "safeguarding"]
    with captured(secrets=[cloud.app_password]) as read:
        for name, content, text in (
            (f"{secret}.pdf", b"%PDF", ""),  # refused on its kind
            (f"{secret}.docx", b"not a zip", ""),  # refused on what it holds
            (f"{secret}.docx", own_docx(secret), f"welsh {secret}"),  # an unknown authority
            (f"{secret}.docx", own_docx(secret), "welsh wrexham"),  # recorded
        ):
            send(org, "alex", org.cloud.send_file(name, content), text)
        assert "Welsh revision 1" in org.last("alex")
        logged = read()
    assert any(line.get("outcome") == "recorded" for line in logged)
    assert leaked(logged, fragments) == []
