"""Replies in a draft's thread: recorded as review comments on its current version and
acknowledged with a reaction. A reply also sent to the channel (`thread_broadcast`) or
carrying a file with a message (`file_share`) is a comment too. Other messages, the
bot's own and edits are not comments.

Bolt hands an event to the first listener that matches it, so a more specific listener
(e.g. for a file of a particular kind in a draft's thread) registered before this one
takes its events; this one answers every other message event, so Slack sees 200.

A comment is recorded before the event is acknowledged, in the transaction that marks
the event handled (`record_in_ack`, run by the event middleware): both or neither, and
when the database fails Slack is answered 503 and sends the event again. Only the
reaction, a Slack call, is left to the listener after the ack."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from bot.review import drafts
from bot.runtime import Runtime
from handlers.slack import middleware
from handlers.slack import text as slack_text
from handlers.slack.events import welsh_upload

REACTION = "memo"
RECORDED = "_ciw_comment"  # body key: the comment recorded for this event, before its ack


# https://docs.slack.dev/reference/events/message/thread_broadcast and .../file_share:
# a person's message like any other, the first shown in the channel too, the second with files.
COMMENT_SUBTYPES = {None, "thread_broadcast", "file_share"}


def is_human_reply(event: dict[str, Any]) -> bool:
    """A person's new message in a thread, also sent to the channel or with a file and
    words (not a bot's, not an edit or other subtype)."""
    subtype = event.get("subtype")
    return (
        event.get("type") == "message"
        and subtype in COMMENT_SUBTYPES
        and not (subtype == "file_share" and not (event.get("text") or "").strip())
        and not event.get("bot_id")
        and bool(event.get("user"))
        and bool(event.get("thread_ts"))
        and event.get("thread_ts") != event.get("ts")
    )


def record_in_ack(runtime: Runtime, session: Session, body: dict[str, Any]) -> None:
    """Record a reply in a draft's thread as a comment, in the transaction that marks its
    event handled (a Welsh upload is its own listener's)."""
    event = body.get("event") or {}
    if not is_human_reply(event) or welsh_upload.is_welsh_upload_in(session, event):
        return
    comment = drafts.record_comment(
        session,
        channel_id=event["channel"],
        thread_ts=event["thread_ts"],
        message_ts=event["ts"],
        user_id=event["user"],
        text=slack_text.typed_words(event.get("text") or ""),
        now=runtime.now(),
    )
    if comment is not None:
        body[RECORDED] = comment.id


def on_message(body: dict[str, Any], event: dict[str, Any], client: Any) -> None:
    """React to a reply recorded as a comment (recorded once, retries included)."""
    if is_human_reply(event) and body.get(RECORDED):
        client.reactions_add(channel=event["channel"], timestamp=event["ts"], name=REACTION)


def register(app: App) -> None:
    """Register this module's listener and its work inside the event's ack."""
    middleware.in_event_ack(app, record_in_ack)
    app.event("message")(on_message)
