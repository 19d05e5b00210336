"""What Slack's Web API refuses, as a checker of payloads: the rules the fake Slack enforces.

`check(method, params)` lists every rule a call breaks, each with the error Slack answers
(`invalid_blocks`, `invalid_arguments`, `msg_too_long`, `no_text`, ...) and a JSON pointer
to the field, as Slack's own `response_metadata.messages` do. Tests can run it over any
recorded payload; `handlers.slack.double` answers with it. Each limit cites the page of Slack's
documentation it comes from (docs.slack.dev; the same pages were on api.slack.com).

One rule is stricter than Slack's answer: a `<`, `>` or `&` outside Slack's own syntax in
mrkdwn. Slack posts such text but shows it garbled (`<authority>` read as a link); the
fake refuses it (`invalid_arguments` / `invalid_blocks`) so that a test notices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# https://docs.slack.dev/reference/methods/chat.postMessage ("Truncating content":
# "The text field ... truncates text longer than 40,000 characters" and answers msg_too_long).
MESSAGE_TEXT = 40_000
# https://docs.slack.dev/reference/block-kit/blocks ("You can include up to 50 blocks in each
# message, and 100 blocks in modals or Home tabs").
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
# https://docs.slack.dev/reference/block-kit/blocks/section-block (text: 3000; fields: 10 items
# of at most 2000 characters; block_id: 255).
SECTION_TEXT = 3000
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2000
BLOCK_ID = 255
# https://docs.slack.dev/reference/block-kit/blocks/header-block (text: plain_text, 150).
HEADER_TEXT = 150
# https://docs.slack.dev/reference/block-kit/blocks/context-block (elements: at most 10).
CONTEXT_ELEMENTS = 10
# https://docs.slack.dev/reference/block-kit/blocks/actions-block (elements: at most 25).
ACTIONS_ELEMENTS = 25
# https://docs.slack.dev/reference/block-kit/blocks/input-block (label and hint: 2000).
INPUT_LABEL = 2000
# https://docs.slack.dev/reference/block-kit/block-elements/button-element (text 75, value
# 2000, url 3000, action_id 255).
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
ACTION_ID = 255
# https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element
# (min_length 0-3000, max_length 1-3000, placeholder 150).
INPUT_MAX_LENGTH = 3000
PLACEHOLDER = 150
# https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element (static
# select: options at most 100; placeholder 150) and
# https://docs.slack.dev/reference/block-kit/composition-objects/option-object (text 75,
# value 150, description 75).
SELECT_OPTIONS = 100
OPTION_TEXT = 75
OPTION_VALUE = 150
# https://docs.slack.dev/reference/block-kit/block-elements/checkboxes-element and
# radio-button-group-element: at most 10 options.
CHOICE_OPTIONS = 10
# https://docs.slack.dev/reference/views (title, submit, close: plain_text of at most 24
# characters; private_metadata 3000; callback_id 255; external_id 255; submit required
# when the view holds input blocks).
VIEW_TITLE = 24
PRIVATE_METADATA = 3000
CALLBACK_ID = 255

# https://docs.slack.dev/messaging/formatting-message-text ("Escaping text": `&`, `<` and
# `>` are control characters, sent as `&amp;`, `&lt;`, `&gt;`; `<...>` is a mention
# `<@U…>`, a channel `<#C…>`, a special mention `<!here>`, `<!subteam^S…>`, a date
# `<!date^…>`, or a link `<https://…|label>` / `<mailto:…>`; a `>` opening a line is a quote:
# https://docs.slack.dev/messaging/formatting-message-text#basic-formatting).
_QUOTE = re.compile(r"^>", re.MULTILINE)
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_CONTROL = re.compile(
    r"<(?:"
    r"@[UW][A-Z0-9]+(?:\|[^<>|]*)?"
    r"|#[CG][A-Z0-9]+(?:\|[^<>|]*)?"
    r"|!(?:here|channel|everyone)(?:\|[^<>|]*)?"
    r"|!subteam\^[A-Z0-9]+(?:\|[^<>|]*)?"
    r"|!date\^[0-9]+\^[^<>|]+(?:\^[^<>|]+)?\|[^<>|]+"
    r"|(?:https?://|mailto:)[^<>|\s]+(?:\|[^<>|]*)?"
    r")>"
)


@dataclass(frozen=True)
class Violation:
    """One rule a payload breaks: Slack's error name, where (a JSON pointer) and why."""

    error: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.error}: {self.detail} [json-pointer:{self.where}]"


def mrkdwn_problems(text: str) -> list[str]:
    """Where `text` uses `<`, `>` or `&` outside Slack's own syntax (empty when it is clean)."""
    problems = []
    rest = _QUOTE.sub("", _ENTITY.sub("", _CONTROL.sub("", text)))
    for char in "<>&":
        at = rest.find(char)
        if at >= 0:
            problems.append(f"a bare {char!r} near {rest[max(0, at - 30) : at + 30]!r}")
    return problems


class _Checker:
    def __init__(self) -> None:
        self.found: list[Violation] = []

    def add(self, error: str, where: str, detail: str) -> None:
        self.found.append(Violation(error, where, detail))

    # -- pieces ------------------------------------------------------------------------
    def length(self, error: str, where: str, value: Any, limit: int, what: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(error, where, f"{what} is {len(value)} characters; at most {limit}")

    def text_object(
        self,
        error: str,
        where: str,
        obj: Any,
        limit: int,
        *,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        # https://docs.slack.dev/reference/block-kit/composition-objects/text-object
        # (type plain_text or mrkdwn; text at least 1 character).
        if obj is None:
            if required:
                self.add(error, where, "missing text object")
            return
        if not isinstance(obj, dict) or obj.get("type") not in {"plain_text", "mrkdwn"}:
            self.add(error, where, "not a text object")
            return
        if plain_only and obj["type"] != "plain_text":
            self.add(error, where, "must be plain_text")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.add(error, f"{where}/text", "text must be a non-empty string")
            return
        self.length(error, f"{where}/text", text, limit, "text")
        if obj["type"] == "mrkdwn":
            for problem in mrkdwn_problems(text):
                self.add(error, f"{where}/text", problem)

    def options(self, error: str, where: str, options: Any, limit: int) -> None:
        if not isinstance(options, list) or not options:
            self.add(error, where, "options must be a non-empty list")
            return
        if len(options) > limit:
            self.add(error, where, f"{len(options)} options; at most {limit}")
        for i, option in enumerate(options):
            self.text_object(error, f"{where}/{i}/text", option.get("text"), OPTION_TEXT)
            value = option.get("value")
            if not isinstance(value, str) or not value:
                self.add(error, f"{where}/{i}/value", "an option needs a value")
            self.length(error, f"{where}/{i}/value", value, OPTION_VALUE, "value")

    def element(self, error: str, where: str, element: Any, action_ids: set[str]) -> None:
        if not isinstance(element, dict):
            self.add(error, where, "not an element")
            return
        kind = element.get("type")
        action_id = element.get("action_id")
        if action_id is not None:
            self.length(error, f"{where}/action_id", action_id, ACTION_ID, "action_id")
            if action_id in action_ids:
                # https://docs.slack.dev/reference/block-kit/block-elements ("action_id ...
                # should be unique among all other action_ids in the containing block").
                self.add(error, f"{where}/action_id", f"action_id {action_id!r} repeated")
            action_ids.add(action_id)
        if kind == "button":
            self.text_object(error, f"{where}/text", element.get("text"), BUTTON_TEXT)
            self.length(error, f"{where}/value", element.get("value"), BUTTON_VALUE, "value")
            self.length(error, f"{where}/url", element.get("url"), BUTTON_URL, "url")
        elif kind == "plain_text_input":
            most, least = element.get("max_length"), element.get("min_length")
            if most is not None and not (isinstance(most, int) and 1 <= most <= INPUT_MAX_LENGTH):
                self.add(error, f"{where}/max_length", f"max_length {most}; 1 to 3000")
            if least is not None and not (
                isinstance(least, int) and 0 <= least <= INPUT_MAX_LENGTH
            ):
                self.add(error, f"{where}/min_length", f"min_length {least}; 0 to 3000")
            initial = element.get("initial_value")
            if isinstance(initial, str) and isinstance(most, int) and len(initial) > most:
                self.add(error, f"{where}/initial_value", "initial_value beyond max_length")
            self._placeholder(error, where, element)
        elif kind in {"static_select", "multi_static_select"}:
            if "option_groups" not in element:
                self.options(error, f"{where}/options", element.get("options"), SELECT_OPTIONS)
            self._placeholder(error, where, element)
        elif kind in {"checkboxes", "radio_buttons"}:
            self.options(error, f"{where}/options", element.get("options"), CHOICE_OPTIONS)
        elif kind in {
            "datepicker",
            "timepicker",
            "datetimepicker",
            "users_select",
            "multi_users_select",
            "conversations_select",
            "multi_conversations_select",
            "channels_select",
            "multi_channels_select",
            "overflow",
            "image",
        }:
            self._placeholder(error, where, element)
        else:
            self.add(error, f"{where}/type", f"unknown element type {kind!r}")

    def _placeholder(self, error: str, where: str, element: dict[str, Any]) -> None:
        if "placeholder" in element:
            self.text_object(
                error, f"{where}/placeholder", element["placeholder"], PLACEHOLDER, plain_only=True
            )

    def blocks(self, error: str, where: str, blocks: Any, limit: int, surface: str) -> None:
        if not isinstance(blocks, list):
            self.add(error, where, "blocks must be a list")
            return
        if len(blocks) > limit:
            self.add(error, where, f"no more than {limit} items allowed; {len(blocks)} given")
        block_ids: set[str] = set()
        for i, block in enumerate(blocks):
            at = f"{where}/{i}"
            if not isinstance(block, dict):
                self.add(error, at, "not a block")
                continue
            block_id = block.get("block_id")
            if block_id is not None:
                self.length(error, f"{at}/block_id", block_id, BLOCK_ID, "block_id")
                if block_id in block_ids:
                    # https://docs.slack.dev/reference/block-kit/blocks ("block_id ... should
                    # be unique for each message or view").
                    self.add(error, f"{at}/block_id", f"block_id {block_id!r} repeated")
                block_ids.add(block_id)
            self.block(error, at, block, surface)

    def block(self, error: str, at: str, block: dict[str, Any], surface: str) -> None:
        kind = block.get("type")
        action_ids: set[str] = set()
        if kind == "section":
            fields = block.get("fields")
            if block.get("text") is None and not fields:
                self.add(error, at, "a section needs text or fields")
            self.text_object(error, f"{at}/text", block.get("text"), SECTION_TEXT, required=False)
            if fields is not None:
                if len(fields) > SECTION_FIELDS:
                    self.add(error, f"{at}/fields", f"{len(fields)} fields; at most 10")
                for j, item in enumerate(fields):
                    self.text_object(error, f"{at}/fields/{j}", item, SECTION_FIELD_TEXT)
            if "accessory" in block:
                self.element(error, f"{at}/accessory", block["accessory"], action_ids)
        elif kind == "header":
            self.text_object(error, f"{at}/text", block.get("text"), HEADER_TEXT, plain_only=True)
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > CONTEXT_ELEMENTS:
                self.add(error, f"{at}/elements", f"{len(elements)} elements; 1 to 10")
            for j, item in enumerate(elements):
                if isinstance(item, dict) and item.get("type") == "image":
                    continue
                self.text_object(error, f"{at}/elements/{j}", item, SECTION_TEXT)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > ACTIONS_ELEMENTS:
                self.add(error, f"{at}/elements", f"{len(elements)} elements; 1 to 25")
            for j, item in enumerate(elements):
                self.element(error, f"{at}/elements/{j}", item, action_ids)
        elif kind == "input":
            if surface == "message":
                self.add(error, at, "input blocks belong in modals and Home tabs")
            self.text_object(error, f"{at}/label", block.get("label"), INPUT_LABEL, plain_only=True)
            if "hint" in block:
                self.text_object(error, f"{at}/hint", block["hint"], INPUT_LABEL, plain_only=True)
            self.element(error, f"{at}/element", block.get("element"), action_ids)
        elif kind == "divider":
            pass
        else:
            self.add(error, f"{at}/type", f"unknown block type {kind!r}")

    # -- surfaces ----------------------------------------------------------------------
    def message(self, params: dict[str, Any], *, need_channel: bool = True) -> None:
        text = params.get("text")
        blocks = params.get("blocks")
        if need_channel and not params.get("channel"):
            self.add("channel_not_found", "/channel", "no channel given")
        if not text and not blocks:
            # chat.postMessage: "One of these arguments is required": text, blocks or attachments.
            self.add("no_text", "/text", "neither text nor blocks")
        if isinstance(text, str):
            if len(text) > MESSAGE_TEXT:
                self.add("msg_too_long", "/text", f"text is {len(text)} characters; 40000 at most")
            if params.get("mrkdwn", True) is not False:
                for problem in mrkdwn_problems(text):
                    self.add("invalid_arguments", "/text", problem)
        if blocks is not None:
            self.blocks("invalid_blocks", "/blocks", blocks, MESSAGE_BLOCKS, "message")

    def view(self, view: Any) -> None:
        error = "invalid_arguments"  # views.* answer this, with the pointer in the messages
        if not isinstance(view, dict):
            self.add(error, "/view", "no view given")
            return
        kind = view.get("type")
        if kind not in {"modal", "home"}:
            self.add(error, "/view/type", f"view type {kind!r}")
        if kind == "modal":
            self.text_object(error, "/view/title", view.get("title"), VIEW_TITLE, plain_only=True)
            for key in ("submit", "close"):
                if key in view:
                    self.text_object(error, f"/view/{key}", view[key], VIEW_TITLE, plain_only=True)
            has_input = any(b.get("type") == "input" for b in view.get("blocks") or [])
            if has_input and "submit" not in view:
                self.add(error, "/view/submit", "a modal with inputs needs a submit button")
        self.length(
            error,
            "/view/private_metadata",
            view.get("private_metadata"),
            PRIVATE_METADATA,
            "private_metadata",
        )
        self.length(error, "/view/callback_id", view.get("callback_id"), CALLBACK_ID, "id")
        self.length(error, "/view/external_id", view.get("external_id"), CALLBACK_ID, "id")
        self.blocks(error, "/view/blocks", view.get("blocks"), VIEW_BLOCKS, str(kind))


def check(method: str, params: dict[str, Any]) -> list[Violation]:
    """Every rule of Slack's that this Web API call (or response_url post) breaks."""
    checker = _Checker()
    if method in {"chat.postMessage", "chat.update"}:
        checker.message(params)
        if method == "chat.update" and not params.get("ts"):
            checker.add("message_not_found", "/ts", "chat.update needs the message's ts")
    elif method == "chat.postEphemeral":
        checker.message(params)
        if not params.get("user"):
            checker.add("user_not_found", "/user", "chat.postEphemeral needs a user")
    elif method == "response_url":
        # https://docs.slack.dev/interactivity/handling-user-interaction ("response_url"):
        # the same message payload as chat.postMessage, without a channel.
        checker.message(params, need_channel=False)
    elif method in {"views.open", "views.push"}:
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            checker.add("invalid_arguments", "/trigger_id", "no trigger_id")
        checker.view(params.get("view"))
    elif method == "views.update":
        if not params.get("view_id") and not params.get("external_id"):
            checker.add("invalid_arguments", "/view_id", "no view_id or external_id")
        checker.view(params.get("view"))
    elif method == "views.publish":
        if not params.get("user_id"):
            checker.add("invalid_arguments", "/user_id", "no user_id")
        view = params.get("view")
        if isinstance(view, dict) and view.get("type") != "home":
            checker.add("invalid_arguments", "/view/type", "views.publish takes a home view")
        checker.view(view)
    elif method == "reactions.add":
        # https://docs.slack.dev/reference/methods/reactions.add (channel, name, timestamp).
        if not params.get("name"):
            checker.add("invalid_name", "/name", "no reaction name")
        if not params.get("channel") or not params.get("timestamp"):
            checker.add("no_item_specified", "/timestamp", "channel and timestamp needed")
    elif method == "users.info":
        if not params.get("user"):
            checker.add("user_not_found", "/user", "no user given")
    elif method == "conversations.info":
        if not params.get("channel"):
            checker.add("channel_not_found", "/channel", "no channel given")
    elif method == "files.getUploadURLExternal":
        # https://docs.slack.dev/reference/methods/files.getUploadURLExternal (filename and
        # length in bytes are required).
        if not params.get("filename"):
            checker.add("invalid_arguments", "/filename", "no filename")
        try:
            if int(params.get("length") or 0) <= 0:
                checker.add("invalid_arguments", "/length", "length must be positive")
        except ValueError:
            checker.add("invalid_arguments", "/length", "length must be a number")
    elif method == "files.completeUploadExternal":
        # https://docs.slack.dev/reference/methods/files.completeUploadExternal (files: ids
        # from files.getUploadURLExternal; thread_ts only with channel_id).
        if not params.get("files"):
            checker.add("invalid_arguments", "/files", "no files")
        if params.get("thread_ts") and not params.get("channel_id"):
            checker.add("invalid_arguments", "/thread_ts", "thread_ts needs channel_id")
        # channel_id is "Channel ID where the file will be shared": a conversation's id. A
        # user id is taken only in `channels`; a file for a person goes into their DM's id.
        if str(params.get("channel_id") or "")[:1] in {"U", "W"}:
            checker.add("channel_not_found", "/channel_id", "a user id, not a conversation's")
        comment = params.get("initial_comment")
        if isinstance(comment, str):
            for problem in mrkdwn_problems(comment):
                checker.add("invalid_arguments", "/initial_comment", problem)
    return checker.found
