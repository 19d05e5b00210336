# ruff: noqa: F811 - `teams_runtime` is the fixture imported from test_sender
"""A draft letter in Teams through the fake cloud: the review card at the top of the
channel, the letter in its reply chain, the Word file as a download link; the card
updated in place as the draft is decided; a later version in the same chain."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.demo import load_demo
from bot.records.dates import ReviewYear
from bot.review import draft_versions, drafts, file_links
from db.models import Authority, Delivery, Draft, DraftVersion
from handlers.teams import cards, sender
from handlers.teams import drafts as teams_drafts
from handlers.teams.platform import platform_of
from tests.handlers.teams.test_cards import problems
from tests.handlers.teams.test_sender import (  # noqa: F401 - the fixture
    ANN,
    BEA,
    CHANNEL,
    PUBLIC_URL,
    card_text,
    teams_runtime,
)


def start_draft(runtime) -> tuple[int, int]:
    """Wrexham 2019-20's letter from the demo records, asked for in the Teams channel."""
    with runtime.transaction() as session:
        load_demo(session, now=runtime.now())
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        outcome = draft_versions.draft_letter(
            runtime,
            session,
            authority=wrexham,
            year=ReviewYear(2019),
            channel_id=CHANNEL,
            actor=ANN,
            platform="teams",
        )
        return outcome.draft.id, outcome.version.id


def parts_of(runtime) -> list[Delivery]:
    with runtime.transaction() as session:
        return list(
            session.scalars(
                select(Delivery).where(Delivery.kind == teams_drafts.PART).order_by(Delivery.id)
            )
        )


def test_a_version_is_a_review_card_with_the_letter_and_a_link_in_its_reply_chain(
    teams_runtime, cloud
):
    draft_id, version_id = start_draft(teams_runtime)
    queued = parts_of(teams_runtime)
    assert len(queued) >= 2  # the card, then the letter
    assert sender.send_due(teams_runtime).failed == 0
    posted = cloud.posted(CHANNEL)
    root = posted[0]
    assert root["replyToId"] is None
    assert all(a["replyToId"] == root["id"] for a in posted[1:])
    assert len(posted) == len(queued) + 1  # the parts and the link
    for activity in posted:
        assert cards.activity_size(activity) <= cards.MESSAGE_LIMIT
        assert problems(activity["attachments"][0]["content"]) == []
        assert activity["channelData"][cards.KEY_PROPERTY].startswith(f"draft:D{draft_id}:v1")

    card = root["attachments"][0]["content"]
    text = card_text(root)
    assert text.startswith("Draft letter: Wrexham County Borough Council, 2019-20\n")
    assert "Version 1" in text and "made by Ann Inspector" in text and "Awaiting review" in text
    approve, request, new = card["actions"]
    assert (approve["verb"], approve["data"]) == (
        drafts.APPROVE,
        {"value": str(version_id), "verb": drafts.APPROVE},
    )
    assert request["type"] == "Action.ShowCard"
    assert request["card"]["body"][0]["id"] == cards.REASON_INPUT
    assert request["card"]["actions"][0]["verb"] == drafts.REQUEST_CHANGES
    assert new["verb"] == drafts.NEW_VERSION

    letter = "\n".join(card_text(a) for a in posted[1:-1])
    assert "Care Inspectorate Wales (CIW) Local Authority Performance Review" in letter
    assert "Children's Services" in letter and "Well-being" in letter
    assert "part 1 of" not in letter and f"part 2 of {len(queued)}" in letter

    link = card_text(posted[-1])
    assert "Version 1 as a Word file:" in link
    raw = posted[-1]["attachments"][0]["content"]["body"][0]["text"]
    (token,) = re.findall(re.escape(PUBLIC_URL) + r"/files/([A-Za-z0-9_-]+)\)", raw)
    with teams_runtime.transaction() as session:
        assert (
            file_links.open_link(session, token, now=teams_runtime.now()).version.id == version_id
        )
        draft = session.get(Draft, draft_id)
        version = session.get(DraftVersion, version_id)
        assert draft.thread_ts == root["id"] and version.message_ts == root["id"]

    # Approved: the card changes in place, the approval and the approved file follow.
    with teams_runtime.transaction() as session:
        drafts.approve(teams_runtime, session, version_id, user_id=BEA)
    assert sender.send_due(teams_runtime).failed == 0
    after = cloud.posted(CHANNEL)
    assert after[0]["id"] == root["id"]
    assert "Approved" in card_text(after[0]) and "Bea Reviewer" in card_text(after[0])
    puts = [c for c in cloud.calls if c.method == "PUT"]
    assert [c.path for c in puts] == [f"/v3/conversations/{CHANNEL}/activities/{root['id']}"]
    approval, approved_link = after[-2:]
    assert "Version 1 is approved (Bea Reviewer)" in card_text(approval)
    assert "The approved letter as a Word file:" in card_text(approved_link)
    assert all(a["replyToId"] == root["id"] for a in after[1:])
    assert sender.send_due(teams_runtime).sent == 0  # each once


def test_a_long_letter_and_a_new_version_each_fit_teams_limit(teams_runtime, cloud, monkeypatch):
    # A stricter limit, so the letter takes several messages in the chain.
    monkeypatch.setattr(cards, "MESSAGE_LIMIT", 12 * 1024)
    monkeypatch.setattr(cards, "BUDGET", 12 * 1024 - 2048)
    cloud.message_limit = 12 * 1024
    draft_id, _ = start_draft(teams_runtime)
    sender.send_due(teams_runtime)
    first = len(cloud.posted(CHANNEL))
    with teams_runtime.transaction() as session:
        draft = session.get(Draft, draft_id)
        outcome = draft_versions.new_version(teams_runtime, session, draft, actor=BEA)
        assert outcome.version.number == 2
        expected = platform_of(teams_runtime).draft_parts(
            teams_runtime, session, draft, outcome.version
        )
    assert expected >= 3
    assert sender.send_due(teams_runtime).failed == 0
    posted = cloud.posted(CHANNEL)
    root = posted[0]
    later = posted[first:]
    assert len(later) == expected + 1  # the version's parts and its link
    assert all(a["replyToId"] == root["id"] for a in later)
    for activity in posted:
        assert cards.activity_size(activity) <= 12 * 1024
    assert "Version 2 of the draft letter, made by Bea Reviewer" in card_text(later[0])
    assert "What changed since version 1" in card_text(later[0])
    assert "Version 2" in card_text(posted[0])  # the card shows the current version
    with teams_runtime.transaction() as session:
        version = session.scalars(select(DraftVersion).where(DraftVersion.number == 2)).one()
        assert version.message_ts == later[0]["id"]
        assert session.get(Draft, draft_id).thread_ts == root["id"]


@pytest.mark.parametrize("public_url", [None])
def test_without_a_public_url_the_link_message_says_why(teams_runtime, cloud, public_url):
    import dataclasses

    teams_runtime.settings = dataclasses.replace(teams_runtime.settings, public_url=public_url)
    start_draft(teams_runtime)
    sender.send_due(teams_runtime)
    assert "cannot be linked here" in card_text(cloud.posted(CHANNEL)[-1])
    with teams_runtime.transaction() as session:
        assert session.scalars(select(file_links.FileLink)).first() is None
