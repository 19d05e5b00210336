"""An event Slack delivers while users.info fails is handled on Slack's retry, once."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import Comment
from tests.faults.conftest import tally
from tests.handlers.test_draft_letter import post_draft, setup_demo, thread_of


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
