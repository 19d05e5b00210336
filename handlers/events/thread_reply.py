"""Replies in a draft's thread: recorded as review comments on its current version and
acknowledged with a reaction. Other messages, the bot's own and edits are not comments."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot import drafts
from bot.runtime import Runtime

REACTION = "memo"


def is_human_reply(event: dict[str, Any]) -> bool:
    """A person's new message in a thread (not a bot's, not an edit or other subtype)."""
    return (
        event.get("type") == "message"
        and not event.get("subtype")
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
