"""`ciw-bot shell`: the same app and handlers, with Slack played in-process.

Each `/ciw …` line is signed and dispatched exactly as Slack's request would be; what the
bot then sends to the (loopback) Slack Web API is printed as a person would read it.
"""

from __future__ import annotations

import re
import secrets
import sys
import time
from dataclasses import replace
from typing import Any, TextIO

from slack_bolt.request import BoltRequest
from sqlalchemy import exists, or_, select

from bot.runtime import Runtime
from bot.settings import Settings
from db.models import Delivery
from handlers.slack.app import create_app, runtime_of
from handlers.slack.deliveries import PLATFORM
from handlers.slack.double import Call, FakeSlack, SignedRequests
from handlers.slack.text import visible

PROMPT = "ciw> "
QUIET = 0.4  # seconds without a new Slack call after which a command's work is done
# (counted from its first call: every command answers or opens a form, however late its
# work starts on a busy machine)


def _block_text(blocks: list[dict[str, Any]] | None) -> list[str]:
    lines: list[str] = []
    for block in blocks or []:
        text = block.get("text")
        if isinstance(text, dict):
            lines.append(text.get("text", ""))
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            label = (element.get("text") or {}).get("text")
            if label:
                lines.append(f"[{label}]")
        for field in block.get("fields", []) or []:
            lines.append(field.get("text", ""))
    return lines


def describe(call: Call) -> str:
    """One Slack call as the person at the keyboard would see its effect."""
    params = call.params
    body = "\n".join(_block_text(params.get("blocks"))) or params.get("text") or ""
    body = re.sub(r"<@([A-Z0-9]+)>", r"@\1", visible(body))
    if call.method == "response_url":
        where = "(only you)" if params.get("response_type") != "in_channel" else "(in channel)"
        return f"{where} {body}"
    if call.method == "chat.postMessage":
        thread = " (in thread)" if params.get("thread_ts") else ""
        return f"[post to {params.get('channel')}{thread}] {body}"
    if call.method == "chat.postEphemeral":
        return f"(only you) {body}"
    if call.method == "chat.update":
        return f"[message updated in {params.get('channel')}] {body}"
    if call.method == "views.open":
        view = params.get("view") or {}
        return f"[form opened: {(view.get('title') or {}).get('text', '')}]"
    if call.method == "files.completeUploadExternal":
        files = params.get("files") or []
        names = ", ".join(f.get("title", f.get("id", "")) for f in files)
        return f"[file uploaded to {params.get('channel_id')}: {names}]"
    if call.method == "reactions.add":
        return f"[reaction :{params.get('name')}:]"
    return ""


def run_shell(
    settings: Settings,
    *,
    demo: bool,
    user: str,
    channel: str,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Read `/ciw` lines until end of input; print what the bot would post."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    slack = FakeSlack().start()
    try:
        shell_settings = replace(
            settings,
            slack_bot_token="xoxb-shell",
            slack_signing_secret=secrets.token_hex(16),
            slack_api_url=slack.api_url,
            allow_public_drafts=True,
        )
        app = create_app(shell_settings)
        runtime = runtime_of(app)
        from handlers.slack import deliveries

        # Slack is played in this process: nothing to pace the outbox for.
        deliveries.set_pacer(runtime, deliveries.Pacer(rate=1000.0, burst=1000))
        if demo:
            from bot.demo import load_demo

            with runtime.transaction() as session:
                added = load_demo(session, now=runtime.now())
            print(f"Demo: Wrexham 2019-20 and 2020-21 records loaded ({added} new).", file=stdout)
        requests = SignedRequests(shell_settings.slack_signing_secret or "", slack)
        interactive = stdin.isatty()
        print(
            f"Type /ciw commands (as {user} in {channel}); 'help' for usage, Ctrl-D to leave.",
            file=stdout,
        )
        while True:
            if interactive:
                print(PROMPT, end="", file=stdout, flush=True)
            line = stdin.readline()
            if not line:
                break
            text = line.strip()
            if text in {"quit", "exit"}:
                break
            if not text or text.startswith("#"):
                continue
            if text.startswith("/ciw"):
                text = text[len("/ciw") :].strip()
            if not interactive:
                print(f"{PROMPT}/ciw {text}", file=stdout)
            for output in _dispatch(app, runtime, slack, requests, text, user, channel):
                print(output, file=stdout)
        return 0
    finally:
        slack.stop()


def _owed(runtime: Runtime) -> bool:
    """Whether Slack is still owed a message that is due: queued, neither sent nor given up,
    not waiting for a retry. A quiet moment is not the end of a command's work while the
    sender prepares its next call (a draft's .docx is rendered after its parent is posted)."""
    now = runtime.now()
    owed = exists().where(
        Delivery.platform == PLATFORM,
        Delivery.sent_at.is_(None),
        Delivery.cancelled_at.is_(None),
        Delivery.due_at <= now,
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    )
    with runtime.transaction() as session:
        return bool(session.scalar(select(owed)))


def _dispatch(
    app: Any,
    runtime: Runtime,
    slack: FakeSlack,
    requests: SignedRequests,
    text: str,
    user: str,
    channel: str,
) -> list[str]:
    start, refused = len(slack.calls), len(slack.refusals)
    body, headers = requests.command(text, user=user, channel=channel, channel_name="shell")
    response = app.dispatch(BoltRequest(body=body.decode(), headers=headers))
    if response.status != 200:
        return [f"(Slack would see HTTP {response.status})"]
    seen, quiet_since = start, time.monotonic()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(slack.calls) != seen:
            seen, quiet_since = len(slack.calls), time.monotonic()
        elif seen > start and time.monotonic() - quiet_since > QUIET and not _owed(runtime):
            break
        time.sleep(0.05)
    shown = [line for line in (describe(c) for c in slack.calls[start:]) if line]
    # What real Slack would refuse is shown, not hidden: the shell is where it shows first.
    return shown + [f"[Slack would refuse {r}]" for r in slack.refusals[refused:]]
