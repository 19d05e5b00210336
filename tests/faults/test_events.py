"""An event Slack delivers while users.info fails is handled on Slack's retry, once."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from db.models import Comment
from tests.faults.conftest import tally
from tests.handlers.slack.test_draft_letter import post_draft, setup_demo, thread_of


def test_a_review_comment_survives_users_info_failing_once(workspace, runtime, slack, clock):
    setup_demo(runtime, clock)
    post_draft(workspace, slack)
    reply = {
        "type": "message",
        "channel": "G0REVIEW",
        "user": "U0NEWREVIEWER",
        "text": "Paragraph 3 needs the date.",
        "ts": "1700000000.000300",
        "thread_ts": thread_of(runtime),
    }
    slack.fail("users.info", 500, times=1)
    first = workspace.event(reply, event_id="Ev0COMMENT")
    # Not marked handled, not treated as a guest: Slack is asked to send it again.
    assert first.status == 503
    # Slack's retries (and a duplicate delivery) of the same event.
    assert workspace.event(reply, event_id="Ev0COMMENT", retry=1).status == 200
    assert workspace.event(reply, event_id="Ev0COMMENT", retry=2).status == 200
    slack.wait_calls("reactions.add")
    with runtime.transaction() as session:
        comments = session.scalar(select(func.count()).select_from(Comment))
    tally(lost=1 - min(comments, 1), duplicates=max(comments - 1, 0))
    assert comments == 1


def test_a_review_comment_survives_the_database_dying_in_the_middle_of_the_event(
    workspace, runtime, slack, clock, database
):
    setup_demo(runtime, clock)
    post_draft(workspace, slack)
    reply = {
        "type": "message",
        "channel": "G0REVIEW",
        "user": "U0INSPECT",
        "text": "Paragraph 3 needs the date.",
        "ts": "1700000000.000400",
        "thread_ts": thread_of(runtime),
    }
    # The connection is lost as the comment is written, after the event was accepted.
    database.die_at("INSERT INTO comments")
    first = workspace.event(reply, event_id="Ev0DIES")
    # Nothing kept, the event not marked handled: Slack is asked to send it again.
    assert first.status == 503
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 0
    assert slack.of("reactions.add") == []
    # Slack's retries, and the same envelope once more.
    assert workspace.event(reply, event_id="Ev0DIES", retry=1).status == 200
    assert workspace.event(reply, event_id="Ev0DIES", retry=2).status == 200
    assert workspace.event(reply, event_id="Ev0DIES").status == 200
    slack.wait_calls("reactions.add")
    with runtime.transaction() as session:
        comments = list(session.scalars(select(Comment)))
    tally(lost=1 - min(len(comments), 1), duplicates=max(len(comments) - 1, 0))
    assert [(c.user_id, c.text, c.message_ts) for c in comments] == [
        ("U0INSPECT", "Paragraph 3 needs the date.", "1700000000.000400")
    ]
    time.sleep(0.3)  # no second reaction on its way
    assert len(slack.of("reactions.add")) == 1
