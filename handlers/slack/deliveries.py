"""The Slack sender: takes messages out of the outbox (`bot.delivery.outbox`) and delivers them.

For each row: claim it (one short transaction; what to say is rendered there from the
records as they are now, so a reminder shows the activity as it is when it goes out, and
one no longer owed is cancelled instead); call Slack outside any transaction; mark it
sent with Slack's ts where our claim still stands, or release it for a later try.

- Exactly once. Every post carries its outbox key in Slack's message `metadata`
  (`event_type` `ciw_outbox`). When the previous attempt's outcome is unknown (its claim
  lapsed because a sender died, or the call timed out or lost its connection) the sender
  first reads the conversation (`conversations.history` / `conversations.replies` with
  `include_all_metadata`) and, finding the key, marks the row sent instead of posting
  again. The client used here does not retry by itself for that reason: a retry inside
  slack_sdk after a lost answer would post twice with nobody knowing.
- Pacing. Slack takes about one message a second per channel, with short bursts
  (https://api.slack.com/methods/chat.postMessage#rate_limiting): posts to one channel
  are spaced by a token bucket per channel, and a 429 holds that channel for the
  `Retry-After` Slack names and leaves the row due again then. All this runs on the
  sender's own thread or in the clock, never while a request waits for its ack.
- Errors a retry cannot cure (channel gone, not in channel, msg_too_long…) give the row
  up, with the error kept and logged as an error.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session

from bot.access import roles
from bot.delivery import outbox
from bot.delivery.messages import Message
from bot.delivery.outbox import LEASE, claim, due_ids, wall_clock  # noqa: F401 - the sender's API
from bot.delivery.sending import Sender, SendReport
from bot.reminders import planning
from bot.review import draft_outbox, overview_file
from bot.runtime import Runtime
from db.models import Delivery
from handlers.slack import draft_posts
from handlers.slack import text as slack_text
from handlers.slack.client import client_of as slack_client_of
from handlers.slack.reminder_blocks import blocks_of

log = logging.getLogger("ciw.deliveries")

PLATFORM = "slack"  # the outbox rows this sender delivers
METADATA_EVENT = "ciw_outbox"
# Slack errors a retry cannot cure: the row is given up (cancelled, error kept).
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "user_not_found",
        "account_inactive",
        "user_disabled",
        "cannot_dm_bot",
        "invalid_arguments",
        "invalid_blocks",
        "msg_too_long",
        "too_many_blocks",
        "no_text",
        "thread_not_found",
        "message_not_found",
        "restricted_action",
    }
)
# What speaks of an activity's records: sent only to people and channels allowed to see it.
PRIVATE_KINDS = frozenset({planning.REMINDER, planning.ANNOUNCE, planning.POSTPONED})
AUDIENCE_SECONDS = 300
# What a command's after-ack work sends at once: what it just queued (everything due now).
IMMEDIATE_KINDS = (planning.ANNOUNCE,)
# Per channel: Slack allows about 1 post a second sustained, with short bursts.
PACE_PER_SECOND = 1.0
PACE_BURST = 2  # one less than Slack tolerates, so a steady run is not refused
RATELIMITED = "ratelimited"
RETRY_AFTER_DEFAULT = 30  # seconds, when a 429 names no Retry-After
RETRY_BACKOFF = (5, 30, 120, 600)  # seconds after each failed attempt (then the last)
HISTORY_PAGES = 10  # pages of 200 messages read when looking for a key
# How far back before a row fell due (or now, for a `clock --now` in the future) an earlier
# attempt may have posted it: a day covers a lapsed lease and every retry's backoff.
LOOKBACK = 24 * 60 * 60
# A pass waits for a retry this close (a 429's Retry-After) rather than leave it to the next.
INLINE_WAIT = 10.0
INLINE_ATTEMPTS = 5


@dataclass
class Outgoing:
    """One Slack call worked out from an outbox row (inside its claim's transaction)."""

    action: str
    channel: str
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    ts: str | None = None  # the message an update replaces
    content: bytes | None = None  # an upload's file
    filename: str | None = None
    title: str | None = None
    comment: str | None = None  # an upload's message


class Pacer:
    """Spaces calls to each channel: a token bucket per channel, held on a 429."""

    def __init__(
        self,
        rate: float = PACE_PER_SECOND,
        burst: int = PACE_BURST,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock  # monotonic seconds (tests drive their own)
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # channel → (tokens, at)
        self._held: dict[str, float] = {}

    def delay(self, channel: str) -> float:
        """Seconds to wait before the next call to `channel` (0: take a token now)."""
        now = self.clock()
        with self._lock:
            held = self._held.get(channel, 0.0) - now
            if held > 0:
                return held
            tokens, at = self._buckets.get(channel, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[channel] = (tokens - 1, now)
                return 0.0
            self._buckets[channel] = (tokens, now)
            return (1 - tokens) / self.rate

    def hold(self, channel: str, seconds: float) -> None:
        """Send nothing to `channel` for `seconds` (Slack's Retry-After)."""
        with self._lock:
            self._held[channel] = max(self._held.get(channel, 0.0), self.clock() + seconds)
            self._buckets[channel] = (0.0, self.clock() + seconds)


def _state(runtime: Runtime) -> dict[str, Any]:
    # Per process: the pacer, the sender's own client, the background sender.
    state = runtime.__dict__.setdefault("_outbox_sender", {})
    if "pacer" not in state:
        state["pacer"] = Pacer()
        state["lock"] = threading.Lock()
    return state


def pacer_of(runtime: Runtime) -> Pacer:
    """The process's pacer (tests may replace it with `set_pacer`)."""
    return _state(runtime)["pacer"]


def set_pacer(runtime: Runtime, pacer: Pacer) -> None:
    """Use this pacer for the runtime's sends (benchmarks and tests tune the rate)."""
    _state(runtime)["pacer"] = pacer


def client_of(runtime: Runtime) -> WebClient:
    """The runtime's client without slack_sdk's own retries (see the module docstring)."""
    state = _state(runtime)
    if "client" not in state:
        base = slack_client_of(runtime)
        state["client"] = WebClient(
            token=base.token, base_url=base.base_url, timeout=base.timeout, retry_handlers=[]
        )
    return state["client"]


# -- one pass --------------------------------------------------------------------------
def send_due(
    runtime: Runtime, now: dt.datetime | None = None, *, kinds: Iterable[str] | None = None
) -> SendReport:
    """Send every row due by `now` (default: the runtime's now), in order, paced per channel.

    Keeps going while rows become sendable: a thread's later parts once its first is sent,
    and a row Slack asked to wait for a few seconds (429 Retry-After) once they passed;
    a row waiting longer stays for a later pass.
    """
    now = now or runtime.now()
    report = SendReport()
    seen: set[int] = set()
    while True:
        with runtime.transaction() as session:
            ids = due_ids(session, now, kinds=kinds, platform=PLATFORM)
        if not ids:
            wait = _soon_retry(runtime, now, kinds)
            if wait is None:
                break
            time.sleep(wait)
            continue
        for row_id in ids:
            seen.add(row_id)
            outcome = send_one(runtime, row_id, now)
            setattr(report, outcome, getattr(report, outcome) + 1)
    if seen:
        log.info(
            "deliveries",
            extra={
                "due": len(seen),
                "sent": report.sent,
                "found": report.found,
                "failed": report.failed,
                "dropped": report.dropped,
                "skipped": report.skipped,
            },
        )
    return report


def _soon_retry(runtime: Runtime, now: dt.datetime, kinds: Iterable[str] | None) -> float | None:
    # Only the platform's own "wait this long" (429); other failures back off past this pass.
    with runtime.transaction() as session:
        return outbox.soon_retry(
            session,
            now,
            platform=PLATFORM,
            marker=RATELIMITED,
            max_attempts=INLINE_ATTEMPTS,
            within=INLINE_WAIT,
            kinds=kinds,
        )


def send_one(runtime: Runtime, row_id: int, now: dt.datetime) -> str:
    """Claim, deliver and mark one row: `sent`, `found`, `failed`, `dropped` or `skipped`."""
    token = uuid.uuid4().hex
    with runtime.transaction() as session:
        before = session.get(Delivery, row_id)
        if before is None:
            return "skipped"
        lapsed = before.claimed_at is not None
        if not claim(session, row_id, token):
            return "skipped"
        row = session.get(Delivery, row_id, populate_existing=True)
        assert row is not None
        uncertain = lapsed or (row.last_error or "").startswith(outbox.UNCERTAIN)
        outgoing, dropped = render(runtime, session, row, now)
        if outgoing is None:
            outbox.cancel(session, row, now=now, why=dropped or "nothing to say")
            log.info("delivery dropped", extra={"key": row.key, "why": dropped})
            return "dropped"
        key, since = row.key, row.due_at
        private = row.kind in PRIVATE_KINDS
    try:
        if private and (why := audience_refusal(runtime, outgoing.channel)):
            with runtime.transaction() as session:
                row = session.get(Delivery, row_id)
                if row is not None and row.claim_token == token:
                    outbox.cancel(session, row, now=now, why=why)
            log.info("delivery dropped", extra={"key": key, "why": why})
            return "dropped"
        if uncertain and outgoing.action == outbox.POST:
            ts = find_posted(runtime, outgoing, key, since)
            if ts is not None:
                _mark(runtime, row_id, token, now, key, ts, None)
                log.warning("delivery found already in Slack", extra={"key": key})
                return "found"
        _wait_turn(runtime, outgoing.channel)
        ts, file_id = deliver(runtime, outgoing, key)
    except (SlackApiError, SlackClientError, OSError) as error:
        _failed(runtime, row_id, token, now, key, outgoing.channel, error)
        return "failed"
    _mark(runtime, row_id, token, now, key, ts, file_id)
    return "sent"


def _mark(
    runtime: Runtime,
    row_id: int,
    token: str,
    now: dt.datetime,
    key: str,
    ts: str | None,
    file_id: str | None,
) -> None:
    with runtime.transaction() as session:
        if not outbox.mark_sent(session, row_id, token, now=now, message_ts=ts or file_id):
            # Our claim lapsed while Slack answered and another sender took over; it looks
            # for this key before sending, so it finds our message.
            log.warning("delivery sent after its claim lapsed", extra={"key": key})
            return
        row = session.get(Delivery, row_id, populate_existing=True)
        assert row is not None
        after_sent(session, row, ts=ts, file_id=file_id, now=now)


def after_sent(
    session: Session, row: Delivery, *, ts: str | None, file_id: str | None, now: dt.datetime
) -> None:
    """What follows a row that went out (in the transaction that marks it sent)."""
    if row.kind in draft_posts.KINDS:
        draft_outbox.after_sent(session, row, message_id=ts, file_id=file_id, now=now)
    else:
        planning.after_sent(session, row, now=now)


def render(
    runtime: Runtime, session: Session, row: Delivery, now: dt.datetime
) -> tuple[Outgoing | None, str | None]:
    """The Slack call a row stands for, or (None, why it is no longer owed)."""
    if row.kind in draft_posts.KINDS:
        made = draft_posts.render(runtime, session, row)
        if made.dropped:
            return None, made.dropped
        return Outgoing(
            action=row.action,
            channel=row.channel,
            text=made.text,
            blocks=made.blocks,
            thread_ts=made.thread_ts,
            ts=made.ts,
            content=made.content,
            filename=made.filename,
            title=made.title,
            comment=made.comment,
        ), None
    if row.kind == overview_file.KIND:
        return _overview_upload(runtime, session, row), None
    if row.kind == outbox.NOTICE:
        text, blocks = blocks_of(Message(str((row.payload or {}).get("text") or "")))
        return Outgoing(
            action=outbox.POST,
            channel=row.channel,
            thread_ts=row.thread_ts,
            text=text,
            blocks=blocks,
        ), None
    if (
        row.kind in PRIVATE_KINDS
        and row.channel.startswith(("U", "W"))
        and roles.enforced(session)
        and roles.role_of(session, row.channel, runtime.settings.admins) is None
    ):
        return None, "the recipient has no role"
    outcome = planning.message_for(runtime, session, row, now)
    if outcome.message is None:
        return None, outcome.dropped
    text, blocks = blocks_of(outcome.message)
    return Outgoing(
        action=outbox.POST,
        channel=row.channel,
        thread_ts=row.thread_ts,
        text=text,
        blocks=blocks,
    ), None


def _overview_upload(runtime: Runtime, session: Session, row: Delivery) -> Outgoing:
    # The overview's CSV, made now from the records, into the person's DM with the bot.
    year = overview_file.year_of(row)
    made = overview_file.made(runtime, session, year)
    comment = slack_text.templates(runtime).message(
        "overview_csv_comment", year=year, today=runtime.today()
    )
    return Outgoing(
        action=outbox.UPLOAD,
        channel=row.channel,
        content=made.content,
        filename=made.filename,
        title=made.title,
        comment=comment,
    )


# -- who may read it ----------------------------------------------------------------------
def home_team(runtime: Runtime) -> str | None:
    """The bot's own workspace: SLACK_TEAM_ID, else the one its token belongs to."""
    if runtime.settings.slack_team_id:
        return runtime.settings.slack_team_id
    state = _state(runtime)
    if "team" not in state:
        state["team"] = client_of(runtime).auth_test().get("team_id")
    return state["team"]


def audience_refusal(runtime: Runtime, channel: str) -> str | None:
    """Why a reminder about an activity may not go to this person or conversation: a
    guest, someone of another workspace or deactivated; a channel shared with another
    organisation (Slack Connect). None when it may. Asked of Slack (outside any
    transaction), remembered for a few minutes."""
    state = _state(runtime)
    known: dict[str, tuple[str | None, float]] = state.setdefault("audience", {})
    remembered = known.get(channel)
    if remembered is not None and remembered[1] > time.monotonic():
        return remembered[0]
    client = client_of(runtime)
    why: str | None = None
    if channel.startswith(("U", "W")):
        user = client.users_info(user=channel)["user"]
        team = home_team(runtime)
        if user.get("is_restricted") or user.get("is_ultra_restricted"):
            why = "the recipient is a guest"
        elif user.get("deleted"):
            why = "the recipient is deactivated"
        elif team and user.get("team_id") not in (None, team):
            why = "the recipient belongs to another workspace"
    else:
        info = client.conversations_info(channel=channel)["channel"]
        if info.get("is_ext_shared") or info.get("is_pending_ext_shared"):
            why = "the channel is shared with another organisation"
    known[channel] = (why, time.monotonic() + AUDIENCE_SECONDS)
    return why


# -- Slack -----------------------------------------------------------------------------
def deliver(runtime: Runtime, outgoing: Outgoing, key: str) -> tuple[str | None, str | None]:
    """Make the Slack call; (message ts, file id)."""
    client = client_of(runtime)
    if outgoing.action == outbox.UPDATE:
        answer = client.chat_update(
            channel=outgoing.channel, ts=outgoing.ts, text=outgoing.text, blocks=outgoing.blocks
        )
        return str(answer.get("ts") or outgoing.ts), None
    if outgoing.action == outbox.UPLOAD:
        extra = {"initial_comment": outgoing.comment} if outgoing.comment else {}
        answer = client.files_upload_v2(
            # A file is shared into a conversation, never to a user id: a person's DM first.
            channel=_conversation_id(client, outgoing.channel),
            thread_ts=outgoing.thread_ts,
            file=outgoing.content,
            filename=outgoing.filename,
            title=outgoing.title,
            **extra,
        )
        return None, str(answer["file"]["id"])
    answer = client.chat_postMessage(
        channel=outgoing.channel,
        thread_ts=outgoing.thread_ts,
        text=outgoing.text,
        blocks=outgoing.blocks or None,
        unfurl_links=False,
        unfurl_media=False,
        metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
    )
    return str(answer.get("ts")), None


def _conversation_id(client: WebClient, channel: str) -> str:
    if channel.startswith(("U", "W")):
        # A DM by user id: its history is read under the DM's own id.
        return str(client.conversations_open(users=channel)["channel"]["id"])
    return channel


def find_posted(runtime: Runtime, outgoing: Outgoing, key: str, since: dt.datetime) -> str | None:
    """The ts of a message already in the conversation carrying this outbox key, if any."""
    client = client_of(runtime)
    channel = _conversation_id(client, outgoing.channel)
    cursor: str | None = None
    for _ in range(HISTORY_PAGES):
        if outgoing.thread_ts:
            answer = client.conversations_replies(
                channel=channel,
                ts=outgoing.thread_ts,
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
        else:
            answer = client.conversations_history(
                channel=channel,
                oldest=f"{min(since, wall_clock()).timestamp() - LOOKBACK:.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
        for message in answer.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and (metadata.get("event_payload") or {}).get("key") == key
            ):
                return str(message.get("ts"))
        cursor = (answer.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return None


def _wait_turn(runtime: Runtime, channel: str) -> None:
    pacer = pacer_of(runtime)
    while (delay := pacer.delay(channel)) > 0:
        time.sleep(min(delay, 1.0))


def _retry_after(error: Exception) -> float | None:
    if isinstance(error, SlackApiError) and error.response.status_code == 429:
        headers = {k.lower(): v for k, v in (error.response.headers or {}).items()}
        value = headers.get("retry-after", RETRY_AFTER_DEFAULT)
        if isinstance(value, list):
            value = value[0] if value else RETRY_AFTER_DEFAULT
        try:
            return float(value)
        except (TypeError, ValueError):
            return float(RETRY_AFTER_DEFAULT)
    return None


def _failed(
    runtime: Runtime,
    row_id: int,
    token: str,
    now: dt.datetime,
    key: str,
    channel: str,
    error: Exception,
) -> None:
    code = error.response.get("error") if isinstance(error, SlackApiError) else None
    permanent = code in PERMANENT_ERRORS
    wait = _retry_after(error)
    # Slack answering ok: false (or 429) did not post; anything else may have.
    certain = isinstance(error, SlackApiError) and (
        error.response.status_code == 429 or error.response.status_code < 500
    )
    detail = f"{type(error).__name__}: {code or error}"
    if wait is not None and RATELIMITED not in detail:
        detail += f" ({RATELIMITED})"
    if not certain:
        detail = outbox.UNCERTAIN + detail
    with runtime.transaction() as session:
        attempts = session.get(Delivery, row_id)
        tries = attempts.attempts if attempts is not None else 0
    if wait is not None:
        pacer_of(runtime).hold(channel, wait)
    else:
        wait = RETRY_BACKOFF[min(tries, len(RETRY_BACKOFF) - 1)]
    with runtime.transaction() as session:
        outbox.mark_failed(
            session,
            row_id,
            token,
            now=now,
            detail=detail,
            permanent=permanent,
            retry_at=None if permanent else wall_clock() + dt.timedelta(seconds=wait),
        )
    if permanent:
        log.error("delivery given up: %s", detail, extra={"key": key})
    else:
        log.warning("delivery failed, retried in %ss: %s", wait, detail, extra={"key": key})


# -- after a request: send what it queued, on the sender's own thread ---------------------
def queued(session: Session) -> bool:
    """Whether this session queued messages, to send with `kick` once committed."""
    return outbox.queued(session)


def send_pending(runtime: Runtime) -> int:
    """Send the announcements that are due now, in this thread; how many were sent."""
    return send_due(runtime, kinds=IMMEDIATE_KINDS).sent


def kick(runtime: Runtime) -> None:
    """Wake the process's sender (started on first use) to send what was just committed."""
    state = _state(runtime)
    with state["lock"]:
        sender = state.get("sender")
        if sender is None:
            sender = state["sender"] = Sender(
                runtime, send_due, name="ciw-sender", retry_after=RETRY_BACKOFF[0]
            )
            runtime.on_shutdown(sender.stop)
    sender.kick()
