"""The `/ciw` slash command in Slack: acknowledge at once, then run the subcommand.

The subcommands themselves are platform-free (`handlers.commands`); this module turns
Slack's request into the typed text, checks what only Slack can tell (a replayed request,
a guest), and answers ephemerally through the command's response_url.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.delivery import pages
from bot.errors import UserError
from bot.render import trusted
from bot.runtime import Runtime
from handlers import commands
from handlers.commands.base import Command, Reply
from handlers.slack import failures, middleware
from handlers.slack import text as slack_text
from handlers.slack.reminder_blocks import sections

NEXT_PAGE = "listing_next_page"
PLATFORM = "slack"


@dataclass
class SlackSurface:
    """What a command typed in Slack can do there: open a modal, tell where drafts may go."""

    client: WebClient
    trigger_id: str | None = None
    platform: str = PLATFORM

    def open_form(self, command: Command, form: str) -> None:
        """Open the activity or finding form as a modal (needs the command's trigger_id)."""
        from handlers.slack.views import activity_form, finding_form

        forms = {"activity": activity_form, "finding": finding_form}
        forms[form].open_form(command, client=self.client, trigger_id=self.trigger_id)

    def check_draft_destination(self, command: Command) -> None:
        """Refuse a channel a draft may not go to: shared with another organisation (Slack
        Connect), public (unless allowed), a group DM, or one the bot is not in."""
        try:
            info: dict[str, Any] = self.client.conversations_info(channel=command.channel_id)[
                "channel"
            ]
        except SlackApiError:
            raise UserError("draft_channel_unavailable") from None
        if info.get("is_ext_shared") or info.get("is_pending_ext_shared"):
            # Slack Connect: people of other organisations read it. Never a draft there.
            raise UserError("draft_shared_channel")
        if info.get("is_mpim"):
            # The manifest has no message.mpim: the bot never hears a group DM's thread replies.
            raise UserError("draft_group_dm")
        public = bool(info.get("is_channel")) and not info.get("is_private")
        if public and not command.runtime.settings.allow_public_drafts:
            raise UserError("draft_public_channel")
        if (info.get("is_channel") or info.get("is_group")) and info.get("is_member") is False:
            raise UserError("draft_not_in_channel")


def register(app: App) -> None:
    """Listen for `/ciw` and a listing's "Next page" button."""
    app.command("/ciw")(handle_ciw)
    app.action(NEXT_PAGE)(handle_next_page)


def handle_ciw(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: Any
) -> None:
    """Acknowledge at once; the subcommand runs after the ack (see `run_command`)."""
    ack()
    runtime: Runtime = context["ciw"]
    failures.after_ack(runtime, body, respond, lambda: run_command(runtime, body, respond, client))


def handle_next_page(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: Any
) -> None:
    """A listing's "Next page" button: that page, answered as if its command were typed."""
    ack()
    runtime: Runtime = context["ciw"]
    action = (body.get("actions") or [{}])[0]
    typed = {
        "user_id": (body.get("user") or {}).get("id", ""),
        "channel_id": (body.get("channel") or {}).get("id", ""),
        "text": str(action.get("value") or ""),  # e.g. "list wrexham 2019-20 page 2"
        "response_url": body.get("response_url"),
    }
    failures.after_ack(
        runtime, typed, respond, lambda: run_command(runtime, typed, respond, client)
    )


def run_command(
    runtime: Runtime, body: dict[str, Any], respond: Respond, client: WebClient
) -> None:
    """Run the subcommand in one transaction and reply (ephemeral unless it says otherwise)."""
    typed = commands.Typed(
        user_id=body["user_id"],
        channel_id=body.get("channel_id", ""),
        channel_name=body.get("channel_name", ""),
        text=slack_text.typed(body.get("text") or ""),
    )

    def slack_checks(session: Session) -> None:
        middleware.claim_signature(session, body)  # a replay, in any process, does nothing
        middleware.confirm_member(runtime, client, body)  # when the ack could not check them

    surface = SlackSurface(client=client, trigger_id=body.get("trigger_id"))
    try:
        outcome = commands.execute(runtime, typed, surface, before=slack_checks)
    except middleware.Replayed:
        middleware.log.warning("replayed command refused", extra={"outcome": "replay"})
        return
    send(runtime, respond, outcome.reply)
    if outcome.queued:
        # What the subcommand queued goes out now that its transaction has committed.
        runtime.kick()


@dataclass(frozen=True)
class Rendered:
    """A reply as posted: its text, and blocks when it needs a button (a listing's pages)."""

    text: str
    blocks: list[dict[str, Any]] | None = None


def render(runtime: Runtime, reply: Reply) -> Rendered:
    """A reply's text; of a listing, the one page asked for (see `bot.delivery.pages`), with a
    "Next page" button under every page but the last."""
    templates = slack_text.templates(runtime)
    if reply.page is None:
        return Rendered(templates.message(reply.template, **reply.data))
    listing = templates.neutral(reply.template, **reply.data)
    found = pages.page_of(listing, reply.page)
    if found is None:
        total = pages.count(listing)
        return Rendered(
            templates.message(
                "errors/no_such_page", page=reply.page, total=total, command=reply.command
            )
        )
    data = {"number": found.number, "total": found.total, "command": reply.command}
    text = templates.message("page", body=trusted(found.text), **data)
    if found.number >= found.total:
        return Rendered(text)
    button = {
        "type": "button",
        "action_id": NEXT_PAGE,
        "text": {"type": "plain_text", "text": templates.message("page_button", **data)},
        # The command without `/ciw `, as the typed text reaches `run_command`.
        "value": f"{reply.command.removeprefix('/ciw ')} page {found.number + 1}",
    }
    return Rendered(text, [*sections(text), {"type": "actions", "elements": [button]}])


def send(runtime: Runtime, respond: Respond, reply: Reply | None) -> None:
    """Post a reply, ephemerally, through the command's response_url."""
    if reply is None:
        return
    rendered = render(runtime, reply)
    respond(
        text=rendered.text,
        blocks=rendered.blocks,
        response_type="ephemeral",
        replace_original=False,
    )
