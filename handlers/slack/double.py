"""Slack played on loopback: a Web API that records what the bot sends, and signed requests.

The shell uses it to show what the bot would post without a workspace; the tests use it
as the Slack the app talks to. It answers the Web API methods the bot calls with the
shapes Slack answers them with, and can be told to fail (429, 5xx) for fault tests.

It is as strict as Slack: every payload is checked by `handlers.slack.limits` and a call that
breaks a rule is answered as Slack answers it (HTTP 200, `ok: false` and Slack's error
name; HTTP 400 and the error name for a response_url) and kept in `refusals`, which the
test fixture turns into a failure. chat.postMessage is rate limited per channel, as Slack
does: a burst of `post_burst` messages, then `post_rate` a second sustained; beyond that
HTTP 429 `ratelimited` with `Retry-After` (whole seconds). Other methods are limited per
their tier (`METHOD_TIERS`) the same way. A trigger_id opens one view, within 3 s of the
command or click that brought it (`SignedRequests` tells the fake when it was sent). A channel the bot is not in
answers `not_in_channel` (public, without `chat:write.public` in the manifest's scopes)
or `channel_not_found` (private).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import math
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from handlers.slack import limits as slack_limits

# https://docs.slack.dev/apis/web-api/rate-limits ("Posting messages: 1 per second [per
# channel]. Short bursts >1 allowed"): the burst size is not published; observed bursts
# are a few dozen. 429 answers carry Retry-After in seconds.
POST_RATE = 1.0
POST_BURST = 20
# Seconds between the server's looks at whether `stop()` was asked (socketserver's 0.5 by
# default: half a second for every test's fake to stop).
STOP_POLL = 0.02
# https://docs.slack.dev/interactivity/handling-user-interaction ("You can use a
# response_url up to 5 times within 30 minutes").
RESPONSE_URL_USES = 5
# https://docs.slack.dev/interactivity/handling-user-interaction#modal_responses and
# views.open's errors: a trigger_id expires 3 seconds after Slack sends it, and opens one
# view (`expired_trigger_id`, `exchanged_trigger_id`).
TRIGGER_SECONDS = 3.0
# Each method's tier (https://docs.slack.dev/apis/web-api/rate-limits and the "Rate
# limits" line of each method's page): calls a minute per app per workspace, with a burst
# of as many. chat.postMessage has its own per-channel rule above.
TIER_2, TIER_3, TIER_4 = 20, 50, 100
METHOD_TIERS = {
    "chat.postEphemeral": TIER_4,
    "chat.update": TIER_3,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.push": TIER_4,
    "views.publish": TIER_4,
    "reactions.add": TIER_3,
    "users.info": TIER_4,
    "conversations.info": TIER_3,
    "conversations.open": TIER_3,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
}


# The bot scopes manifest.yml asks for (`oauth_config.scopes.bot`): what the fake's token is
# granted. Written out here so the shell needs neither the manifest (not in the installed
# package) nor a YAML parser; tests/test_manifest.py keeps the two equal.
MANIFEST_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "chat:write.public",
        "files:write",
        "files:read",
        "reactions:write",
        "users:read",
        "channels:read",
        "groups:read",
        "im:read",
        "mpim:read",
        "channels:history",
        "groups:history",
        "im:history",
        "im:write",
    }
)


@dataclass
class Call:
    """One request the bot made to Slack."""

    method: str
    params: dict[str, Any]
    raw: bytes = b""

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass
class Refusal:
    """A call Slack would refuse: what was sent and the rules it broke."""

    method: str
    params: dict[str, Any]
    violations: list[slack_limits.Violation]

    def __str__(self) -> str:
        return f"{self.method}: " + "; ".join(str(v) for v in self.violations)


@dataclass
class Fault:
    status: int
    headers: dict[str, str]
    remaining: int
    body: dict[str, Any] | None = None


@dataclass
class FakeSlack:
    """A Slack Web API on 127.0.0.1 that records every call."""

    team_id: str = "T0CIW"
    bot_user_id: str = "UBOT"
    calls: list[Call] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    socket_mode_url: str | None = None  # what apps.connections.open hands out
    bot_token: str = "xoxb-test-token"  # the token file downloads must carry
    shared_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    file_contents: dict[str, bytes] = field(default_factory=dict)
    scopes: frozenset[str] = MANIFEST_SCOPES
    post_burst: int = POST_BURST
    post_rate: float = POST_RATE  # chat.postMessage per second per channel, sustained
    refusals: list[Refusal] = field(default_factory=list)
    rate_limited: list[Call] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic  # what the rate limits are measured in

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._init_fault_injection()
        self._faults: dict[str, list[Fault]] = {}
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # -> (tokens, at)
        self._messages: set[tuple[str, str]] = set()  # (channel, ts) the bot posted
        self._reactions: set[tuple[str, str, str]] = set()
        self._response_uses: dict[str, int] = {}
        self._upload_ids: set[str] = set()
        self._triggers: dict[str, float | None] = {}  # trigger_id -> when sent (None: used)

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> FakeSlack:
        """Serve on a free loopback port in a background thread."""
        double = self

        class Handler(BaseHTTPRequestHandler):
            # Each answer goes out at once (TCP_NODELAY): its head and body are two writes, and
            # on a kept-alive connection the body would wait for the client's delayed ACK.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, headers, payload = double._answer(self.path, self.headers, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                status, headers, data = double._serve_file(self.path, self.headers)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": STOP_POLL}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL is set to."""
        return self.base + "/api/"

    def response_url(self, token: str = "r") -> str:
        """A response_url for a slash command or interaction."""
        return f"{self.base}/response/{token}"

    # -- faults ------------------------------------------------------------------
    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (`*` for any) with this status."""
        with self._lock:
            self._faults.setdefault(method, []).append(Fault(status, headers or {}, times, body))

    def recover(self, method: str) -> None:
        """Slack is back: the faults still pending for `method` are dropped."""
        with self._lock:
            self._faults.pop(method, None)

    def _fault_for(self, method: str) -> Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key) or []
            while queue and queue[0].remaining <= 0:
                queue.pop(0)
            if queue:
                queue[0].remaining -= 1
                return queue[0]
        return None

    # -- recorded calls ----------------------------------------------------------
    def of(self, method: str) -> list[Call]:
        """The calls of one method, in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def responses(self) -> list[Call]:
        """What was posted to response_urls (replies to commands and interactions)."""
        return self.of("response_url")

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def wait_for(self, predicate: Callable[[FakeSlack], Any], timeout: float = 10.0) -> Any:
        """Wait until `predicate(self)` is truthy (the bot works after its ack); return it."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = predicate(self)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    methods = [c.method for c in self.calls]
                    raise AssertionError(f"Slack never saw what was awaited; calls: {methods}")
                self._lock.wait(min(left, 0.05))

    def wait_calls(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until `method` has been called `count` times; return those calls."""
        return self.wait_for(lambda s: len(s.of(method)) >= count and s.of(method), timeout)

    # -- answering ---------------------------------------------------------------
    def _answer(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        if path.startswith("/upload/"):
            file_id = path.rsplit("/", 1)[1]
            with self._lock:
                if file_id not in self._upload_ids:
                    return 404, {}, b"not found"
                self.uploads[file_id] = body
                self._lock.notify_all()
            return 200, {}, b"OK - " + str(len(body)).encode()
        if path.startswith("/response/"):
            return self._response_url(path.rsplit("/", 1)[1], body)
        method = path.split("/api/", 1)[-1].split("?")[0]
        params = self._params(headers, body)
        with self._lock:
            fault = self._fault_for(method)
        if fault is None:
            fault = self._injected_fault(method, params)
        if fault is not None:
            self._record(Call(f"failed:{method}", params, body))
            return fault.status, fault.headers, fault.body or {"ok": False, "error": "fake_fault"}
        wait = self._throttle(method, params)
        if wait:
            self._record(Call(f"ratelimited:{method}", params, body))
            with self._lock:
                self.rate_limited.append(Call(method, params, body))
            return 429, {"Retry-After": str(wait)}, {"ok": False, "error": "ratelimited"}
        violations = slack_limits.check(method, params) + self._state_violations(method, params)
        if violations:
            return 200, {}, self._refuse(method, params, body, violations)
        answer = self._conversation_answer(method, params) or self._reply(method, params)
        self._record(Call(method, params, body))
        self._after_answer(method, params, answer)
        return 200, {}, answer

    def _refuse(
        self, method: str, params: dict[str, Any], body: bytes, found: list[Any]
    ) -> dict[str, Any]:
        with self._lock:
            self.refusals.append(Refusal(method, params, found))
        self._record(Call(f"refused:{method}", params, body))
        # Slack names the first problem and lists them all in response_metadata.
        return {
            "ok": False,
            "error": found[0].error,
            "response_metadata": {"messages": [f"[ERROR] {v}" for v in found]},
        }

    def _response_url(self, token: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        try:
            params = json.loads(body or b"{}")
        except json.JSONDecodeError:
            params = {}
        params["_token"] = token
        with self._lock:
            uses = self._response_uses[token] = self._response_uses.get(token, 0) + 1
        found = slack_limits.check("response_url", params)
        if uses > RESPONSE_URL_USES:
            found.append(slack_limits.Violation("used_url", "/", "response_url used 6 times"))
        if found:
            # Incoming webhooks and response_urls answer HTTP 400 (404 once used up) with
            # the error name as plain text: https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks
            self._refuse("response_url", params, body, found)
            return (404 if uses > RESPONSE_URL_USES else 400), {}, found[0].error.encode()
        self._record(Call("response_url", params, body))
        return 200, {}, b"ok"

    def _state_violations(
        self, method: str, params: dict[str, Any]
    ) -> list[slack_limits.Violation]:
        """What Slack refuses because of the workspace's state (membership, unknown ids)."""
        v = slack_limits.Violation
        channel = str(params.get("channel") or "")
        if method == "chat.postMessage" and channel[:1] in {"C", "G"}:
            info = self.channel(channel)
            if not info.get("is_member"):
                # https://docs.slack.dev/reference/scopes/chat.write.public: public channels
                # only; a private channel the bot is not in does not exist for it.
                if channel.startswith("G") or info.get("is_private"):
                    return [v("channel_not_found", "/channel", f"bot not in private {channel}")]
                if "chat:write.public" not in self.scopes:
                    return [v("not_in_channel", "/channel", f"bot not in {channel}")]
        if method == "chat.update":
            with self._lock:
                known = (channel, str(params.get("ts"))) in self._messages
            if not known:
                return [v("message_not_found", "/ts", f"no message {params.get('ts')} here")]
        if method in {"views.open", "views.push"}:
            trigger = str(params.get("trigger_id") or "")
            with self._lock:
                sent = self._triggers.get(trigger, 0.0)
                if trigger in self._triggers:
                    self._triggers[trigger] = None
            if sent is None:
                return [v("exchanged_trigger_id", "/trigger_id", "trigger_id already used")]
            if sent and time.monotonic() - sent > TRIGGER_SECONDS:
                return [v("expired_trigger_id", "/trigger_id", "trigger_id older than 3 s")]
        if method == "reactions.add":
            key = (channel, str(params.get("timestamp")), str(params.get("name")))
            with self._lock:
                if key in self._reactions:
                    return [v("already_reacted", "/name", "this reaction is already there")]
        if method == "files.completeUploadExternal":
            files = params.get("files")
            if isinstance(files, str):
                files = json.loads(files)
            with self._lock:
                missing = [f.get("id") for f in files or [] if f.get("id") not in self.uploads]
            if missing:
                return [v("file_not_found", "/files", f"never uploaded: {missing}")]
        return []

    def _throttle(self, method: str, params: dict[str, Any]) -> int:
        """Seconds to wait before this call is allowed (0: allowed now): chat.postMessage
        per channel, other methods per their tier."""
        if method == "chat.postMessage":
            key, rate, burst = (
                self._resolve(str(params.get("channel") or "")),
                self.post_rate,
                self.post_burst,
            )
        elif method in METHOD_TIERS:
            key, rate, burst = method, METHOD_TIERS[method] / 60, METHOD_TIERS[method]
        else:
            return 0
        if rate <= 0:
            return 0
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get((method, key), (float(burst), now))
            tokens = min(float(burst), tokens + (now - at) * rate)
            if tokens < 1:
                self._buckets[(method, key)] = (tokens, now)
                return max(1, math.ceil((1 - tokens) / rate))
            self._buckets[(method, key)] = (tokens - 1, now)
        return 0

    def issue_trigger(self, trigger_id: str) -> None:
        """Slack sent this trigger_id with a command or interaction just now."""
        with self._lock:
            self._triggers[trigger_id] = time.monotonic()

    @staticmethod
    def _resolve(channel: str) -> str:
        # A DM by user id lands in the app's DM with that user.
        return "D" + channel[1:] if channel.startswith(("U", "W")) else channel

    def expect_refusals(self) -> list[Refusal]:
        """The refusals so far, forgotten (for a test that provokes them on purpose)."""
        with self._lock:
            found, self.refusals = self.refusals, []
        return found

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()

    @staticmethod
    def _params(headers: Any, body: bytes) -> dict[str, Any]:
        kind = headers.get("Content-Type", "")
        if "json" in kind:
            return json.loads(body or b"{}")
        pairs = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True)
        params: dict[str, Any] = {k: v[0] for k, v in pairs.items()}
        for key in ("blocks", "attachments", "view", "files", "metadata"):
            if isinstance(params.get(key), str):
                with contextlib.suppress(json.JSONDecodeError):
                    params[key] = json.loads(params[key])
        return params

    def next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def user(self, user_id: str) -> dict[str, Any]:
        """users.info's user for an id (a full member unless configured otherwise)."""
        base = {
            "id": user_id,
            "team_id": self.team_id,
            "name": user_id.lower(),
            "real_name": f"User {user_id}",
            "deleted": False,
            "is_bot": False,
            "is_admin": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "tz": "Europe/London",
        }
        base.update(self.users.get(user_id, {}))
        return base

    def channel(self, channel_id: str) -> dict[str, Any]:
        """conversations.info's channel: C… public, G… private, D… a DM, unless configured."""
        base = {
            "id": channel_id,
            "name": channel_id.lower(),
            "is_channel": channel_id.startswith("C"),
            "is_group": channel_id.startswith("G"),
            "is_im": channel_id.startswith("D"),
            "is_mpim": False,
            "is_private": not channel_id.startswith("C"),
            "is_member": True,
        }
        base.update(self.channels.get(channel_id, {}))
        return base

    def _reply(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel", "")
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": self.bot_user_id,
                "bot_id": "BBOT",
                "team_id": self.team_id,
                "team": "CIW",
                "url": "https://ciw.example/",
            }
        if method == "chat.postMessage":
            ts = self.next_ts()
            channel = self._resolve(channel)
            with self._lock:
                self._messages.add((channel, ts))
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": params.get("text"), "ts": ts, "bot_id": "BBOT"},
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "chat.update":
            return {
                "ok": True,
                "channel": channel,
                "ts": params.get("ts"),
                "text": params.get("text"),
            }
        if method in {"views.open", "views.update", "views.push", "views.publish"}:
            return {
                "ok": True,
                "view": {"id": "V" + str(next(self._ts)), **(params.get("view") or {})},
            }
        if method == "apps.connections.open":
            if self.socket_mode_url is None:
                return {"ok": False, "error": "socket_mode_not_enabled"}
            return {"ok": True, "url": self.socket_mode_url}
        if method == "reactions.add":
            with self._lock:
                self._reactions.add((channel, str(params.get("timestamp")), params["name"]))
            return {"ok": True}
        if method == "users.info":
            return {"ok": True, "user": self.user(params.get("user", ""))}
        if method == "conversations.info":
            return {"ok": True, "channel": self.channel(channel)}
        if method == "conversations.open":
            users = params.get("users", "")
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0][1:]}}
        if method == "files.info":
            return self._files_info(params)
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            with self._lock:
                self._upload_ids.add(file_id)
            return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            if isinstance(files, str):
                files = json.loads(files)
            return {
                "ok": True,
                "files": [{"id": f["id"], "title": f.get("title")} for f in files or []],
            }
        return {"ok": True}

    # -- files people share (the Welsh workflow downloads them) ----------------------
    # https://docs.slack.dev/messaging/working-with-files#authenticating: `url_private` and
    # `url_private_download` need an `Authorization: Bearer <token>` header (a token with
    # files:read); without it Slack answers with its sign-in page, not the file.
    # https://docs.slack.dev/reference/objects/file-object: `file_access: "check_file_info"`
    # marks a partial file object in an event; files.info gives the whole one.
    def share_file(
        self,
        name: str,
        content: bytes,
        *,
        user: str = "U0TRANSLATE",
        filetype: str | None = None,
        partial: bool = False,
    ) -> dict[str, Any]:
        """A file a person shared: what a `file_share` message event carries of it."""
        file_id = f"F{next(self._ts):08d}"
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        whole = {
            "id": file_id,
            "created": int(time.time()),
            "name": name,
            "title": name,
            "mimetype": "application/octet-stream",
            "filetype": filetype or extension,
            "user": user,
            "size": len(content),
            "mode": "hosted",
            "is_external": False,
            "url_private": f"{self.base}/files-pri/{self.team_id}-{file_id}/{name}",
            "url_private_download": f"{self.base}/files-pri/{self.team_id}-{file_id}/download/"
            + urllib.parse.quote(name),
        }
        with self._lock:
            self.shared_files[file_id] = whole
            self.file_contents[file_id] = content
        if partial:
            return {"id": file_id, "mode": "file_access", "file_access": "check_file_info"}
        return dict(whole)

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        # https://docs.slack.dev/reference/methods/files.info: file_not_found for unknown ids.
        with self._lock:
            file = self.shared_files.get(str(params.get("file") or ""))
        if file is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": dict(file), "comments": [], "response_metadata": {}}

    def _serve_file(self, path: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        sign_in = b"<!DOCTYPE html><html><body>Sign in to CIW</body></html>"
        html = {"Content-Type": "text/html; charset=utf-8"}
        if path.startswith("/signin"):
            return 200, html, sign_in
        if not path.startswith("/files-pri/"):
            return 404, html, b"<html>not found</html>"
        if headers.get("Authorization") != f"Bearer {self.bot_token}":
            self._record(Call("file_download_refused", {"path": path}))
            return 302, {"Location": f"{self.base}/signin?redir={urllib.parse.quote(path)}"}, b""
        file_id = path.split("/")[2].rsplit("-", 1)[-1]
        with self._lock:
            content = self.file_contents.get(file_id)
        if content is None:
            return 404, html, b"<html>not found</html>"
        self._record(Call("file_download", {"file": file_id}))
        return 200, {"Content-Type": "application/octet-stream"}, content

    # == fault injection and conversation history (for the outbox's fault tests) ==========
    # Kept apart from the Web API above so the strict fake can take it over unchanged.
    # `stall` makes a method answer late (a slow Slack; the bot's timeout fires first, or the
    # post lands after the caller gave up: its fate unknown to the bot). `rate_limit` answers
    # chat.postMessage with 429 `ratelimited` and Retry-After past about one post a second
    # per channel with a short burst, as Slack does
    # (https://api.slack.com/methods/chat.postMessage#rate_limiting,
    # https://api.slack.com/docs/rate-limits#rate-limits__responding-to-rate-limiting-conditions).
    # Posted messages are kept per conversation with their `metadata`, and
    # conversations.history / conversations.replies return it when `include_all_metadata`
    # is set (https://api.slack.com/methods/conversations.history#arg_include_all_metadata).
    def _init_fault_injection(self) -> None:
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self._stalls: dict[str, list[tuple[float, threading.Event | None]]] = {}
        self._rate: tuple[float, int] | None = None
        self._fault_buckets: dict[str, tuple[float, float]] = {}
        self._later: dict[str, list[tuple[int, Fault]]] = {}

    def fail_after(
        self, method: str, calls: int, status: int, *, body: dict[str, Any] | None = None
    ) -> None:
        """Let `calls` calls of `method` through, then answer the next one with `status`."""
        with self._lock:
            self._later.setdefault(method, []).append((calls, Fault(status, {}, 1, body)))

    def stall(
        self,
        method: str,
        seconds: float,
        *,
        times: int = 1,
        until: threading.Event | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` only after `seconds`, or once `until` is
        set if that comes first (done meanwhile)."""
        with self._lock:
            self._stalls.setdefault(method, []).extend([(seconds, until)] * times)

    def rate_limit(self, per_second: float = 1.0, burst: int = 3) -> None:
        """Refuse chat.postMessage past `per_second` per channel (after a burst) with 429."""
        with self._lock:
            self._rate = (per_second, burst)
            self._fault_buckets.clear()

    def _injected_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        with self._lock:
            pending = self._later.get(method) or []
            if pending:
                left, fault = pending[0]
                if left <= 0:
                    pending.pop(0)
                    return fault
                pending[0] = (left - 1, fault)
            stalls = self._stalls.get(method) or []
            delay, until = stalls.pop(0) if stalls else (0.0, None)
        if delay:
            self._record(Call(f"stalled:{method}", params))
            (until or threading.Event()).wait(delay)
        if method != "chat.postMessage" or self._rate is None:
            return None
        rate, burst = self._rate
        channel = str(params.get("channel", ""))
        now = self.clock()
        with self._lock:
            tokens, at = self._fault_buckets.get(channel, (float(burst), now))
            tokens = min(float(burst), tokens + (now - at) * rate)
            if tokens >= 1:
                self._fault_buckets[channel] = (tokens - 1, now)
                return None
            self._fault_buckets[channel] = (tokens, now)
        retry_after = max(1, int((1 - tokens) / rate + 0.999))
        return Fault(
            429, {"Retry-After": str(retry_after)}, 1, {"ok": False, "error": "ratelimited"}
        )

    def _after_answer(self, method: str, params: dict[str, Any], answer: dict[str, Any]) -> None:
        if method != "chat.postMessage" or not answer.get("ok"):
            return
        message = {
            "type": "message",
            "ts": answer["ts"],
            "text": params.get("text"),
            "bot_id": "BBOT",
        }
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        if isinstance(params.get("metadata"), dict):
            message["metadata"] = params["metadata"]
        with self._lock:
            self.messages.setdefault(answer["channel"], []).append(message)

    def _conversation_answer(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if method not in {"conversations.history", "conversations.replies"}:
            return None
        channel = str(params.get("channel", ""))
        with_metadata = str(params.get("include_all_metadata", "")).lower() in {"1", "true"}
        with self._lock:
            posted = list(self.messages.get(channel, []))
        if method == "conversations.replies":
            thread = str(params.get("ts", ""))
            posted = [m for m in posted if m["ts"] == thread or m.get("thread_ts") == thread]
        else:
            oldest = float(params.get("oldest") or 0)
            posted = [m for m in posted if float(m["ts"]) > oldest and not m.get("thread_ts")]
            posted.reverse()  # newest first, as Slack answers
        out = [{k: v for k, v in m.items() if with_metadata or k != "metadata"} for m in posted]
        return {"ok": True, "messages": out, "has_more": False, "response_metadata": {}}


class SignedRequests:
    """Builds requests to `/slack/events` exactly as Slack signs them."""

    def __init__(
        self, signing_secret: str, slack: FakeSlack | None = None, team_id: str = "T0CIW"
    ) -> None:
        self.secret = signing_secret
        self.slack = slack
        self.team_id = team_id
        self._counter = itertools.count(1)

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's v0 signature headers for a body."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        base = b"v0:" + str(timestamp).encode() + b":" + body
        signature = "v0=" + hmac.new(self.secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}

    def command(
        self,
        text: str,
        *,
        user: str = "U0INSPECT",
        channel: str = "G0REVIEW",
        channel_name: str = "inspections",
    ) -> tuple[bytes, dict[str, str]]:
        """A `/ciw` slash command (form-encoded, as Slack sends it)."""
        n = next(self._counter)
        fields = {
            "token": "legacy",
            "team_id": self.team_id,
            "team_domain": "ciw",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": user.lower(),
            "command": "/ciw",
            "text": text,
            "api_app_id": "A0CIWBOT",
            "is_enterprise_install": "false",
            "response_url": self.slack.response_url(f"cmd{n}")
            if self.slack
            else f"http://127.0.0.1:9/response/cmd{n}",
            "trigger_id": f"{n}.trigger",
        }
        body = urllib.parse.urlencode(fields).encode()
        if self.slack:
            self.slack.issue_trigger(fields["trigger_id"])
        return body, {"Content-Type": "application/x-www-form-urlencoded", **self.sign(body)}

    def interaction(self, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """A block_actions or view_submission payload (form-encoded `payload=`)."""
        payload = {"team": {"id": self.team_id}, "api_app_id": "A0CIWBOT", **payload}
        if self.slack and "response_url" not in payload and payload.get("type") == "block_actions":
            payload["response_url"] = self.slack.response_url(f"act{next(self._counter)}")
        if self.slack and payload.get("trigger_id"):
            self.slack.issue_trigger(payload["trigger_id"])
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return body, {"Content-Type": "application/x-www-form-urlencoded", **self.sign(body)}

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """An Events API `event_callback` (JSON), optionally marked as Slack's retry."""
        envelope = {
            "token": "legacy",
            "team_id": self.team_id,
            "api_app_id": "A0CIWBOT",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._counter):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team_id, "user_id": "UBOT", "is_bot": True}],
        }
        body = json.dumps(envelope).encode()
        headers = {"Content-Type": "application/json", **self.sign(body)}
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return body, headers
