"""A neutral message (`bot.delivery.messages.Message`) as Slack's text and Block Kit blocks."""

from __future__ import annotations

from typing import Any

from bot.delivery.messages import Message
from handlers.slack.text import mrkdwn, split_mrkdwn

# A section block's text: at most 3,000 characters
# (https://docs.slack.dev/reference/block-kit/blocks/section-block).
TEXT_LIMIT = 3000


def sections(text: str) -> list[dict[str, Any]]:
    """Section blocks holding mrkdwn `text`, split between lines, else words, to fit."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": part}}
        for part in split_mrkdwn(text, TEXT_LIMIT)
    ]


def _button(action: Any) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action.id,
        "text": {"type": "plain_text", "text": action.label},
        "value": action.value,
    }
    if action.style:
        button["style"] = action.style  # Slack's "primary" and "danger", as ours
    return button


def blocks_of(message: Message) -> tuple[str, list[dict[str, Any]]]:
    """The message's notification text (mrkdwn) and blocks: its text in sections, its
    fields in one section's fields, its actions in one actions block."""
    text = mrkdwn(message.text)
    blocks: list[dict[str, Any]] = []
    if message.heading:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": message.heading}})
    blocks += sections(text)
    if message.fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{mrkdwn(f.label)}*\n{mrkdwn(f.value)}"}
                    for f in message.fields
                ],
            }
        )
    if message.actions:
        actions: dict[str, Any] = {
            "type": "actions",
            "elements": [_button(a) for a in message.actions],
        }
        if message.group:
            actions["block_id"] = message.group
        blocks.append(actions)
    return text, blocks
