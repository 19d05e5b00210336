"""Replies in a draft's reply chain in Teams are the review's comments: recorded on the
current version once, acknowledged in the chain; commands there are still commands."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import Activity, Comment
from tests.handlers.teams.world import CHANNEL, posted_draft


@pytest.fixture
def draft(org):
    return posted_draft(org)


def comments(org) -> list[Comment]:
    with org.runtime.transaction() as session:
        found = list(session.scalars(select(Comment).order_by(Comment.id)))
        session.expunge_all()
        return found


def test_a_reply_in_the_chain_is_a_comment_on_the_current_version(org, draft):
    org.say(
        "The plan needs the JICPA pilot.",
        "bea",
        channel=CHANNEL,
        thread=draft["root"],
        mention_bot=False,
    )
    (comment,) = comments(org)
    assert comment.version_id == draft["version"]
    assert comment.user_id == org["bea"].aad
    assert comment.text == "The plan needs the JICPA pilot."
    assert org.in_thread(CHANNEL, draft["root"]) == ["Recorded as a review comment on version 1."]


def test_mentions_in_a_comment_read_as_names_and_the_bot_is_dropped(org, draft):
    alex = org["alex"]
    org.say(
        f"looks good, {alex.at} please check the dates",
        "bea",
        channel=CHANNEL,
        thread=draft["root"],
        mentions=(alex,),
    )
    (comment,) = comments(org)
    assert comment.text == "looks good, @Alex Jones please check the dates"


def test_a_command_in_the_chain_is_a_command(org, draft):
    org.say("list wrexham 2019-20", "bea", channel=CHANNEL, thread=draft["root"])
    assert comments(org) == []
    assert "focused activity" in org.last("bea")
    org.say("ciw upcoming", "bea", channel=CHANNEL, thread=draft["root"], mention_bot=False)
    assert comments(org) == []


def test_a_repeated_reply_is_recorded_once(org, draft):
    reply = org.message(
        "One comment.", org["bea"], channel=CHANNEL, thread=draft["root"], mention_bot=False
    )
    assert org.post(reply).status_code == 200
    assert org.post(reply).status_code == 200
    org.settle()
    assert len(comments(org)) == 1
    assert len(org.in_thread(CHANNEL, draft["root"])) == 1


def test_a_guest_reply_is_no_comment(org, draft):
    org.say("I am a guest.", "gus", channel=CHANNEL, thread=draft["root"], mention_bot=False)
    assert comments(org) == []
    assert "guest accounts cannot use it" in org.in_thread(CHANNEL, draft["root"])[-1]


def test_replies_elsewhere_are_no_comments(org, draft):
    other = org.message("a post", org["ann"], channel=CHANNEL, mention_bot=False)
    org.post(other)
    org.say(
        "a reply to another post", "bea", channel=CHANNEL, thread=other["id"], mention_bot=False
    )
    assert comments(org) == []
    with org.runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == 1
