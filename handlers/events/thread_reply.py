"""Replies in a draft's thread: recorded as review comments on its current version and
acknowledged with a reaction. A reply also sent to the channel (`thread_broadcast`) or
carrying a file with a message (`file_share`) is a comment too. Other messages, the
bot's own and edits are not comments.

Bolt hands an event to the first listener that matches it, so a more specific listener
(e.g. for a file of a particular kind in a draft's thread) registered before this one
takes its events; this one answers every other message event, so Slack sees 200."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot import drafts
from bot.runtime import Runtime

REACTION = "memo"


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


def on_message(event: dict[str, Any], client: Any, context: Any) -> None:
    """Record a reply in a draft's thread once (retries included) and react to it."""
    if not is_human_reply(event):
        return
    runtime: Runtime = context["ciw"]
    with runtime.transaction() as session:
        comment = drafts.record_comment(
            session,
            channel_id=event["channel"],
            thread_ts=event["thread_ts"],
            message_ts=event["ts"],
            user_id=event["user"],
            text=event.get("text") or "",
            now=runtime.now(),
        )
    if comment is not None:
        client.reactions_add(channel=event["channel"], timestamp=event["ts"], name=REACTION)


def register(app: App) -> None:
    """Register this module's listeners."""
    app.event("message")(on_message)
