"""Reviewing a draft in Slack through the real HTTP path: buttons, the change-request form,
replies in the thread."""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import func, select

from bot.access import roles
from bot.review import drafts
from db.models import Comment, Decision, Draft, DraftVersion, Review, Role
from handlers.slack.text import visible
from tests.handlers.slack.test_draft_letter import (
    CHANNEL,
    all_text,
    buttons,
    docx_text,
    post_draft,
    setup_demo,
    thread_of,
)

REVIEWER = "U0REVIEW"


def click(workspace, action_id: str, version_id: int, *, user: str = REVIEWER):
    """A reviewer clicks a button on the draft's parent message."""
    return workspace.interact(
        {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": "T0CIW"},
            "trigger_id": f"trigger-{action_id}",
            "container": {"type": "message", "channel_id": CHANNEL, "is_ephemeral": False},
            "channel": {"id": CHANNEL, "name": "reviews"},
            "message": {"ts": "1.0", "text": "draft"},
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "draft_review",
                    "value": str(version_id),
                    "action_ts": "1.1",
                }
            ],
        }
    )


def submit_reason(workspace, metadata: str, reason: str, *, user: str = REVIEWER):
    """The reviewer submits the change-request form."""
    return workspace.interact(
        {
            "type": "view_submission",
            "user": {"id": user, "username": user.lower(), "team_id": "T0CIW"},
            "trigger_id": "trigger-submit",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": "draft_change_request",
                "private_metadata": metadata,
                "state": {
                    "values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}
                },
            },
        }
    )


def settled(slack, runtime, query):
    """Wait until a database read answers truthy: the bot commits after its last Slack call."""

    def ask(_slack):
        with runtime.transaction() as session:
            return query(session)

    return slack.wait_for(ask)


def answer_containing(slack, words: str):
    """The ephemeral answer (via response_url) that contains these words."""
    return slack.wait_for(
        lambda s: next((r for r in s.responses() if words in visible(r.get("text") or "")), None)
    )


def current_version(runtime) -> int:
    with runtime.transaction() as session:
        return session.scalars(select(DraftVersion.id).order_by(DraftVersion.number.desc())).first()


def started(workspace, slack, runtime, clock) -> int:
    setup_demo(runtime, clock)
    post_draft(workspace, slack)
    return current_version(runtime)


def test_approve_records_who_and_when_updates_the_parent_and_attaches_the_approved_docx(
    workspace, slack, runtime, clock
):
    version_id = started(workspace, slack, runtime, clock)
    clock.set("2020-08-04T11:30:00")
    assert click(workspace, drafts.APPROVE, version_id).status == 200
    update = slack.wait_calls("chat.update")[0]
    assert update.get("channel") == CHANNEL and update.get("ts") == thread_of(runtime)
    seen = all_text(update)
    assert "Status: *Approved*" in seen and "approvals 1 of 1" in seen
    assert f"<@{REVIEWER}>" in json.dumps(update.get("blocks"))
    assert update.get("text").endswith("version 1, approved")
    slack.wait_calls("files.completeUploadExternal", 2)
    approved = slack.of("files.getUploadURLExternal")[1]
    assert approved.get("filename") == "ciw-letter-wrexham-2019-20-v1-approved.docx"
    slack.wait_for(lambda s: len(s.uploads) == 2)
    file_id = (
        json.loads(slack.of("files.completeUploadExternal")[1].get("files"))[0]["id"]
        if isinstance(slack.of("files.completeUploadExternal")[1].get("files"), str)
        else slack.of("files.completeUploadExternal")[1].get("files")[0]["id"]
    )
    approved_text = docx_text(slack.uploads[file_id])
    assert "Children's Services:" in approved_text
    # The approved file carries no draft marking; the draft posted first did.
    assert "DRAFT" not in approved_text and approved_text.startswith("Alwyn Jones")
    assert any(docx_text(d).startswith("DRAFT \u2013 version 1") for d in slack.uploads.values())
    settled(slack, runtime, lambda session: session.get(DraftVersion, version_id).approved_at)
    note = slack.of("chat.postMessage")[-1]
    assert note.get("thread_ts") == thread_of(runtime) and "is approved" in note.get("text")
    with runtime.transaction() as session:
        review = session.scalars(select(Review)).one()
        assert (review.user_id, review.decision) == (REVIEWER, Decision.APPROVE)
        assert review.at.isoformat().startswith("2020-08-04T10:30")  # 11:30 BST
        assert session.get(DraftVersion, version_id).approved_at is not None

    # Approving again changes nothing and says so, privately.
    click(workspace, drafts.APPROVE, version_id)
    reply = answer_containing(slack, "already approved")
    assert reply.get("response_type") == "ephemeral"
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 1


def test_two_approvals_needed_when_the_setting_says_so(workspace, slack, runtime, clock):
    version_id = started(workspace, slack, runtime, clock)
    runtime.settings = dataclasses.replace(runtime.settings, required_approvals=2)
    click(workspace, drafts.APPROVE, version_id, user="U0ONE")
    first = slack.wait_calls("chat.update", 1)[0]
    assert "Status: *Awaiting review*" in all_text(first) and "approvals 1 of 2" in all_text(first)
    click(workspace, drafts.APPROVE, version_id, user="U0TWO")
    second = slack.wait_calls("chat.update", 2)[1]
    assert "Status: *Approved*" in all_text(second) and "approvals 2 of 2" in all_text(second)


def test_request_changes_opens_the_form_and_posts_the_reason_escaped(
    workspace, slack, runtime, clock
):
    version_id = started(workspace, slack, runtime, clock)
    click(workspace, drafts.REQUEST_CHANGES, version_id)
    opened = slack.wait_calls("views.open")[0]
    assert opened.get("trigger_id") == f"trigger-{drafts.REQUEST_CHANGES}"
    view = opened.get("view")
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "draft_change_request"
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 0

    reason = "Tell <!channel> and <@U123>: *People* needs the _DoLS_ point"
    answer = submit_reason(workspace, view["private_metadata"], reason)
    assert answer.status == 200
    post = slack.wait_for(
        lambda s: [
            c for c in s.of("chat.postMessage") if "requested changes" in (c.get("text") or "")
        ]
    )[0]
    assert post.get("thread_ts") == thread_of(runtime)
    raw = post.get("text") + json.dumps(post.get("blocks"))
    for dangerous in ("<!channel>", "<@U123>", "*People*", "_DoLS_"):
        assert dangerous not in raw
    assert reason in visible(post.get("text"))
    assert f"<@{REVIEWER}> requested changes to version 1" in post.get("text")
    update = slack.wait_calls("chat.update")[0]
    assert "Status: *Changes requested*" in all_text(update)
    assert "open change requests 1" in all_text(update)
    with runtime.transaction() as session:
        review = session.scalars(select(Review)).one()
        assert (review.decision, review.reason, review.user_id) == (
            Decision.REQUEST_CHANGES,
            reason,
            REVIEWER,
        )

    # An approval does not outweigh an open change request.
    click(workspace, drafts.APPROVE, version_id, user="U0OTHER")
    update = slack.wait_calls("chat.update", 2)[1]
    assert "Status: *Changes requested*" in all_text(update)


def test_empty_reason_is_refused_on_the_form(workspace, slack, runtime, clock):
    version_id = started(workspace, slack, runtime, clock)
    metadata = json.dumps({"version_id": version_id, "channel": CHANNEL})
    answer = submit_reason(workspace, metadata, "   ")
    body = json.loads(answer.body)
    assert (
        body["response_action"] == "errors" and "Say what should change" in body["errors"]["reason"]
    )
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 0


def test_new_version_button_reassembles_and_drops_old_approvals(workspace, slack, runtime, clock):
    v1 = started(workspace, slack, runtime, clock)
    click(workspace, drafts.APPROVE, v1, user="U0ONE")
    slack.wait_calls("chat.update", 1)
    metadata = json.dumps({"version_id": v1, "channel": CHANNEL})
    submit_reason(workspace, metadata, "Add the March meeting")
    slack.wait_calls("chat.update", 2)
    with runtime.transaction() as session:
        from db.models import Activity

        session.scalars(
            select(Activity).where(Activity.title == "focused activity")
        ).one().details = ", review of two cases"

    click(workspace, drafts.NEW_VERSION, v1, user="U0INSPECT")
    slack.wait_calls("files.completeUploadExternal", 3)  # v1, v1 approved, v2
    update = slack.wait_calls("chat.update", 3)[2]
    seen = all_text(update)
    assert "Version 2" in seen and "Status: *Awaiting review*" in seen
    assert "approvals 0 of 1" in seen and "open change requests 0" in seen
    v2 = settled(
        slack,
        runtime,
        lambda session: session.scalars(
            select(DraftVersion.id).where(DraftVersion.number == 2)
        ).first(),
    )
    assert buttons(update)[drafts.APPROVE]["value"] == str(v2)
    thread_post = next(c for c in slack.of("chat.postMessage") if "Version 2" in all_text(c))
    assert thread_post.get("thread_ts") == thread_of(runtime)
    assert "→ - focused activity, 22 January 2020, review of two cases" in all_text(thread_post)
    with runtime.transaction() as session:
        request = session.scalars(
            select(Review).where(Review.decision == Decision.REQUEST_CHANGES)
        ).one()
        assert request.resolved_at is not None

    # The old version's buttons no longer act.
    click(workspace, drafts.APPROVE, v1)
    reply = answer_containing(slack, "replaced")
    assert "Version 1 has been replaced by version 2" in reply.get("text")
    with runtime.transaction() as session:
        assert (
            session.scalar(select(func.count()).select_from(Review).where(Review.version_id == v2))
            == 0
        )


def test_someone_without_the_reviewer_role_is_refused(workspace, slack, runtime, clock):
    version_id = started(workspace, slack, runtime, clock)
    with runtime.transaction() as session:
        roles.grant(
            session, actor="U0ADMIN", user_id="U0CHIEF", role=Role.REVIEWER, now=runtime.now()
        )
    click(workspace, drafts.APPROVE, version_id, user="U0NOBODY")
    reply = answer_containing(slack, "reviewer")
    assert reply.get("response_type") == "ephemeral"
    assert "reviewer" in visible(reply.get("text"))
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 0
    click(workspace, drafts.APPROVE, version_id, user="U0CHIEF")
    assert "Status: *Approved*" in all_text(slack.wait_calls("chat.update")[0])


def thread_event(runtime, ts: str, **extra):
    return {
        "type": "message",
        "channel": CHANNEL,
        "user": REVIEWER,
        "text": "Looks &lt;fine&gt;",
        "ts": ts,
        "thread_ts": thread_of(runtime),
        "channel_type": "group",
        **extra,
    }


def test_replies_in_the_thread_are_comments_recorded_once_and_acknowledged(
    workspace, slack, runtime, clock
):
    version_id = started(workspace, slack, runtime, clock)
    event = thread_event(runtime, "1596450000.000100")
    assert workspace.event(event, event_id="Ev0COMMENT").status == 200
    reaction = slack.wait_calls("reactions.add")[0]
    assert (reaction.get("channel"), reaction.get("timestamp"), reaction.get("name")) == (
        CHANNEL,
        "1596450000.000100",
        "memo",
    )
    # Slack retries the same event, and the same message arrives under another event id.
    assert workspace.event(event, event_id="Ev0COMMENT", retry=1).status == 200
    assert workspace.event(event, event_id="Ev0AGAIN").status == 200
    workspace.event(thread_event(runtime, "1596450000.000200", text="Second"), event_id="Ev0SECOND")
    slack.wait_calls("reactions.add", 2)
    with runtime.transaction() as session:
        comments = list(session.scalars(select(Comment).order_by(Comment.id)))
        assert [(c.version_id, c.user_id, c.text, c.message_ts) for c in comments] == [
            (version_id, REVIEWER, "Looks <fine>", "1596450000.000100"),
            (version_id, REVIEWER, "Second", "1596450000.000200"),
        ]
        assert comments[0].at is not None
    assert len(slack.of("reactions.add")) == 2


def test_other_messages_are_not_comments(workspace, slack, runtime, clock):
    started(workspace, slack, runtime, clock)
    thread = thread_of(runtime)
    others = [
        {
            "type": "message",
            "channel": CHANNEL,
            "user": REVIEWER,
            "text": "top level",
            "ts": "1596450001.000001",
        },
        {
            "type": "message",
            "channel": CHANNEL,
            "user": REVIEWER,
            "text": "other thread",
            "ts": "1596450001.000002",
            "thread_ts": "1596440000.000001",
        },
        {
            "type": "message",
            "channel": "G0ELSEWHERE",
            "user": REVIEWER,
            "text": "other channel",
            "ts": "1596450001.000003",
            "thread_ts": thread,
        },
        {
            "type": "message",
            "channel": CHANNEL,
            "bot_id": "BBOT",
            "user": "UBOT",
            "text": "bot's own",
            "ts": "1596450001.000004",
            "thread_ts": thread,
        },
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": CHANNEL,
            "hidden": True,
            "ts": "1596450001.000005",
            "message": {
                "user": REVIEWER,
                "text": "edited",
                "ts": "1596450000.000100",
                "thread_ts": thread,
            },
        },
    ]
    for number, event in enumerate(others):
        assert workspace.event(event, event_id=f"Ev0OTHER{number}").status == 200
    # A real comment afterwards proves the events above were processed (in order) and ignored.
    workspace.event(thread_event(runtime, "1596450002.000001"), event_id="Ev0REAL")
    slack.wait_calls("reactions.add", 1)
    with runtime.transaction() as session:
        assert [c.text for c in session.scalars(select(Comment))] == ["Looks <fine>"]
    assert len(slack.of("reactions.add")) == 1


def test_comment_goes_to_the_version_current_when_it_was_made(workspace, slack, runtime, clock):
    v1 = started(workspace, slack, runtime, clock)
    post_draft(workspace, slack, uploads=2)
    v2 = current_version(runtime)
    assert v2 != v1
    workspace.event(thread_event(runtime, "1596450003.000001"), event_id="Ev0V2")
    slack.wait_calls("reactions.add", 1)
    with runtime.transaction() as session:
        assert session.scalars(select(Comment.version_id)).one() == v2
        assert session.scalar(select(func.count()).select_from(Draft)) == 1


def test_replies_also_sent_to_the_channel_or_with_a_file_are_comments(
    workspace, slack, runtime, clock
):
    version_id = started(workspace, slack, runtime, clock)
    broadcast = thread_event(
        runtime, "1596450004.000001", subtype="thread_broadcast", text="Also to the channel"
    )
    with_file = thread_event(
        runtime,
        "1596450004.000002",
        subtype="file_share",
        text="Marked up, see page 2",
        files=[{"id": "F0MARKED", "name": "letter-marked.docx"}],
    )
    file_alone = thread_event(
        runtime, "1596450004.000003", subtype="file_share", text="", files=[{"id": "F0ALONE"}]
    )
    for number, event in enumerate([broadcast, with_file, file_alone]):
        assert workspace.event(event, event_id=f"Ev0KIND{number}").status == 200
    reactions = slack.wait_calls("reactions.add", 2)
    assert [r.get("timestamp") for r in reactions] == ["1596450004.000001", "1596450004.000002"]
    with runtime.transaction() as session:
        comments = list(session.scalars(select(Comment).order_by(Comment.id)))
        assert [(c.version_id, c.text) for c in comments] == [
            (version_id, "Also to the channel"),
            (version_id, "Marked up, see page 2"),
        ]
