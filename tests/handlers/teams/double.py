"""Microsoft Teams played on loopback: the cloud's token-signing keys, its login endpoint and
the Bot Connector, for tests that run without Teams.

One server answers all three, as a sovereign cloud's overrides would point them:
- `openid_metadata_url` (`/v1/.well-known/openidconfiguration`) and its keys
  (`/v1/.well-known/keys`): what the Teams SDK validates inbound activities against;
  `inbound_token()` signs an RS256 token with those keys as the Bot Connector would,
  `rotate_connector_keys()` publishes a new one. The keys endpoint can be made slow
  (`keys_delay` seconds) or held until an event is set (`keys_held`); `key_fetches`
  counts its requests (`gets`, every GET's).
- `login_url`: the Entra ID token endpoint (`/<tenant>/oauth2/v2.0/token`, plus the tenant
  discovery document MSAL reads first), issuing the bot's own token for client credentials.
- `service_url` (`/teams/`): the Bot Connector's REST API v3. Every call needs a bot token
  this login issued. Send to a conversation (a channel's reply chain as
  `<conversation>;messageid=<root>`), reply to an activity, update an activity, create a
  1:1 conversation, read a member (with `userRole`).

- files a person sends the bot in its personal chat: `send_file()` keeps the bytes and
  gives the `file.download.info` attachment Teams puts on the message; its `downloadUrl`
  (`/download/<id>?tempauth=…`) serves them to a plain GET, and can be made to fail, hang,
  drip, lie about its length or stream more than it declares (`Hosted`).

It is as strict as Teams: the message size limit and the per-conversation rate limits below
are enforced, and a call that breaks a rule is answered as the Bot Connector answers it
(HTTP status and `{"error": {"code", "message"}}`) and kept in `refusals`.

With `tls=True` it serves HTTPS with a certificate for 127.0.0.1 that only `ca_file`
trusts: how a sovereign-cloud or proxied install reaches its endpoints (MSAL accepts only
https authorities; `SSL_CERT_FILE` / `REQUESTS_CA_BUNDLE` name the CA).
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import ipaddress
import itertools
import json
import ssl
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# The public cloud's Bot Connector issuer and bot scope (the SDK's CloudEnvironment PUBLIC;
# https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication).
CONNECTOR_ISSUER = "https://api.botframework.com"
BOT_SCOPE = "https://api.botframework.com/.default"
BOT_AUDIENCE = BOT_SCOPE.removesuffix("/.default")

# Message size. https://learn.microsoft.com/microsoftteams/platform/bots/how-to/format-your-bot-messages
# ("If the bot message size limit exceeds …, bot receives a 413 status code
# (RequestEntityTooLarge), which contains the error code MessageSizeTooBig. The bot message
# size limit includes the entire message payload encoded as UTF-16"). The page has said 28 KB,
# then 40 KB, and now 100 KB (80 KB recommended): the fake holds the earliest and strictest,
# 28 KB, which is also what Teams clients are known to cut cards at.
MESSAGE_LIMIT = 28 * 1024
# Seconds between the server's looks at whether `stop()` was asked (socketserver's 0.5 by
# default: half a second for every test's fake to stop).
STOP_POLL = 0.02

# Per bot per thread limits, https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit
# ("Per bot per thread limit": scenario, time period in seconds, maximum allowed
# operations). Over them the API answers "HTTP 429 Too Many Requests".
RATE_LIMITS: dict[str, tuple[tuple[float, int], ...]] = {
    "send": ((1, 7), (2, 8), (30, 60), (3600, 1800)),
    "create": ((1, 7), (2, 8), (30, 60), (3600, 1800)),
    "members": ((1, 14), (2, 16), (30, 120), (3600, 3600)),
}


# Files sent to the bot. https://learn.microsoft.com/microsoftteams/platform/bots/how-to/bots-filesv4
# ("Receive files in personal chat"): the message activity carries an attachment whose
# contentType is FILE_INFO, with `contentUrl` (the file in the sender's OneDrive, "not how
# your bot will access the file"), `name` and `content` {downloadUrl, uniqueId, fileType,
# etag}; "The user can issue an HTTP GET directly from this URL" (no token: the URL carries
# its own `tempauth`, and a request with the bot's token is refused here). "The URL is
# only valid for a few minutes, so you must fetch the file immediately"
# (https://devblogs.microsoft.com/microsoft365dev/working-with-files-in-your-microsoft-teams-bot/):
# DOWNLOAD_LIFETIME. "Teams bot APIs work only in the personal context. They do not work in
# the channel or groupchat context": `delivered_attachments` drops a file sent anywhere else.
FILE_INFO = "application/vnd.microsoft.teams.file.download.info"
DOWNLOAD_LIFETIME = 300.0  # seconds of the fake's clock a downloadUrl works for
_FILLER = bytes(range(256)) * 256  # 64 KiB of what a generated file is made of


def delivered_attachments(kind: str, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The attachments of a message as Teams hands them to the bot in a conversation of
    `kind`: uploaded files only in a personal chat (see FILE_INFO's sources)."""
    if kind == "personal":
        return list(attachments)
    return [a for a in attachments if a.get("contentType") != FILE_INFO]


@dataclass
class Hosted:
    """A file behind a download URL, and how its URL behaves.

    `content`: the bytes, or a size to stream made-up bytes of (a hostile file costs the
    fake no memory). `behaviour`: "serve"; "fail" (500); "hang" (no answer until the fake
    stops or `release` is set); "drip" (the headers, then a byte every `drip` seconds).
    `length`: the Content-Length sent (None: the real one; "chunked": none, chunked
    encoding). `served` counts the body bytes the bot took before it hung up."""

    content: bytes | int
    tempauth: str
    issued: float
    behaviour: str = "serve"
    length: int | str | None = None
    drip: float = 0.05
    release: threading.Event = field(default_factory=threading.Event)
    served: int = 0
    gets: int = 0

    @property
    def size(self) -> int:
        return self.content if isinstance(self.content, int) else len(self.content)

    def chunks(self) -> Iterator[bytes]:
        """The body, 64 KiB at a time."""
        if isinstance(self.content, bytes):
            for start in range(0, len(self.content), len(_FILLER)):
                yield self.content[start : start + len(_FILLER)]
            return
        left = self.content
        while left > 0:
            yield _FILLER[: min(left, len(_FILLER))]
            left -= len(_FILLER)


class Signer:
    """An RSA key pair that signs RS256 tokens and publishes itself as a JWK."""

    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or uuid.uuid4().hex
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        """The key that verifies what this signer signed."""
        return self._key.public_key()

    def jwk(self, **extra: Any) -> dict[str, Any]:
        """The public key as a JSON Web Key."""
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256", **extra}

    def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 token over these claims, with this key's id in its header."""
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})


@dataclass
class Call:
    """One request the bot made to the Bot Connector or the login endpoint."""

    method: str
    path: str
    body: dict[str, Any]
    status: int = 0


@dataclass
class Refusal:
    """A call Teams refused: what was asked and the error it answered."""

    path: str
    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.status} {self.code}: {self.message}"


@dataclass
class Conversation:
    """A conversation the bot is in: a 1:1 chat (`personal`) or a team's `channel`."""

    id: str
    kind: str
    tenant_id: str
    members: set[str] = field(default_factory=set)
    activities: dict[str, dict[str, Any]] = field(default_factory=dict)


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class FakeTeams:
    """The Teams cloud on 127.0.0.1 for one bot registration in one tenant."""

    app_id: str = "00000000-0000-0000-0000-00000000b07"
    app_password: str = "bot-secret"
    tenant_id: str = "11111111-1111-1111-1111-111111111111"
    tls: bool = False
    message_limit: int = MESSAGE_LIMIT
    keys_delay: float = 0.0  # seconds the keys endpoint takes to answer
    keys_held: threading.Event | None = None  # if set: the keys endpoint answers once it is
    clock: Callable[[], float] = time.monotonic
    calls: list[Call] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    files: dict[str, Hosted] = field(default_factory=dict)
    download_lifetime: float = DOWNLOAD_LIFETIME

    def __post_init__(self) -> None:
        self.connector_keys = Signer()  # signs what the Bot Connector sends the bot
        self.published_keys = [self.connector_keys]  # what the keys endpoint lists
        self.gets: collections.Counter[str] = collections.Counter()  # GET requests by path
        self.login_keys = Signer()  # signs the bot's own tokens
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._history: dict[tuple[str, str], collections.deque[float]] = {}
        self._dir = tempfile.TemporaryDirectory(prefix="fake-teams-")
        self._stopping = threading.Event()  # ends a slow keys answer at once at stop()
        self.ca_file: str | None = None

    # ----- lifecycle and addresses -----

    def start(self) -> FakeTeams:
        """Listen on a free loopback port (HTTPS with `tls`)."""
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Each answer goes out at once (TCP_NODELAY): its head and body are two writes, and
            # on a kept-alive connection the body would wait for the client's delayed ACK.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = double._answer(self.command, self.path, self.headers, raw)
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.startswith("/download/"):
                    double._download(self)
                    return
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def do_PUT(self) -> None:
                self._serve()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self._certificate())
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": STOP_POLL}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop listening and drop the temporary certificate."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._dir.cleanup()

    def __enter__(self) -> FakeTeams:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        assert self._server is not None, "start() the fake first"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openid_metadata_url(self) -> str:
        """What TEAMS_OPENID_METADATA_URL points at."""
        return f"{self.base}/v1/.well-known/openidconfiguration"

    @property
    def login_url(self) -> str:
        """What TEAMS_LOGIN_URL points at."""
        return self.base

    @property
    def service_url(self) -> str:
        """The Bot Connector's address, as activities carry it in `serviceUrl`."""
        return f"{self.base}/teams/"

    def _certificate(self) -> tuple[str, str]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake teams cloud")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        cert_path = Path(self._dir.name, "cert.pem")
        key_path = Path(self._dir.name, "key.pem")
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        self.ca_file = str(cert_path)
        return str(cert_path), str(key_path)

    # ----- the world the bot lives in -----

    def add_user(
        self, aad_object_id: str, name: str, role: str = "user", email: str | None = None
    ) -> dict[str, Any]:
        """A person in the tenant; `role` is Teams' userRole: user, guest or anonymous."""
        user = {
            "id": f"29:{aad_object_id}",
            "name": name,
            "aadObjectId": aad_object_id,
            "email": email or f"{name.split()[0].lower()}@example.org",
            "userPrincipalName": email or f"{name.split()[0].lower()}@example.org",
            "tenantId": self.tenant_id,
            "userRole": role,
        }
        self.users[user["id"]] = user
        return user

    def add_channel(self, channel_id: str, member_ids: list[str]) -> Conversation:
        """A team channel with the bot installed and these people (`29:` ids) in the team."""
        conversation = Conversation(channel_id, "channel", self.tenant_id, set(member_ids))
        self.conversations[channel_id] = conversation
        return conversation

    def inbound_token(self, service_url: str | None = None, **claims: Any) -> str:
        """A token as the Bot Connector signs it for an activity it sends the bot; any claim
        can be overridden (iss, aud, exp, serviceurl…) and `signer` replaced to forge one."""
        signer = claims.pop("signer", self.connector_keys)
        now = int(time.time())
        body = {
            "iss": CONNECTOR_ISSUER,
            "aud": self.app_id,
            "serviceurl": service_url or self.service_url,
            "nbf": now - 60,
            "iat": now - 60,
            "exp": now + 3600,
            **claims,
        }
        return signer.sign({k: v for k, v in body.items() if v is not None})

    @property
    def key_fetches(self) -> int:
        """Requests the keys endpoint has had."""
        return self.gets["/v1/.well-known/keys"]

    def rotate_connector_keys(self) -> Signer:
        """A new signing key, published beside the old one (as the Bot Connector publishes a
        key before signing with it), that signs from now on."""
        self.connector_keys = Signer()
        self.published_keys = [self.connector_keys, *self.published_keys]
        return self.connector_keys

    def message_activity(
        self,
        text: str,
        user: dict[str, Any],
        conversation_id: str | None = None,
        *,
        tenant_id: str | None = None,
        service_url: str | None = None,
    ) -> dict[str, Any]:
        """A message activity as Teams posts it to the bot's messaging endpoint."""
        tenant = tenant_id or self.tenant_id
        personal = conversation_id is None
        if personal:
            # Speaking to the bot in its personal chat is what creates that chat.
            chat = f"a:personal-{user['aadObjectId']}"
            self.conversations.setdefault(
                chat, Conversation(chat, "personal", tenant, {user["id"]})
            )
        return {
            "type": "message",
            "id": f"{next(self._ids)}",
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "serviceUrl": service_url or self.service_url,
            "channelId": "msteams",
            "from": {"id": user["id"], "name": user["name"], "aadObjectId": user["aadObjectId"]},
            "conversation": {
                "id": f"a:personal-{user['aadObjectId']}" if personal else conversation_id,
                "conversationType": "personal" if personal else "channel",
                "tenantId": tenant,
            },
            "recipient": {"id": f"28:{self.app_id}", "name": "CIW"},
            "text": text,
            "textFormat": "plain",
            "channelData": {"tenant": {"id": tenant}},
        }

    def signed_post(self, base_url: str, activity: dict[str, Any]) -> urllib.request.Request:
        """`activity` as the Bot Connector POSTs it to `<base_url>/api/messages`, with a
        token this cloud signed."""
        return urllib.request.Request(
            f"{base_url}/api/messages",
            data=json.dumps(activity).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.inbound_token()}",
            },
            method="POST",
        )

    def expect_refusals(self) -> list[Refusal]:
        """The refusals so far, forgotten: for a test that provokes them on purpose."""
        with self._lock:
            refused, self.refusals[:] = list(self.refusals), []
        return refused

    def posted(self, conversation_id: str) -> list[dict[str, Any]]:
        """The activities the bot has in a conversation, oldest first (updates applied)."""
        conversation = self.conversations.get(conversation_id)
        return list(conversation.activities.values()) if conversation else []

    def send_file(
        self,
        name: str,
        content: bytes | int,
        *,
        file_type: str | None = None,
        **behaviour: Any,
    ) -> dict[str, Any]:
        """A person sends the bot a file: it goes to their OneDrive, and the message Teams
        delivers carries this attachment (`Hosted` says what `behaviour` may set)."""
        file_id = str(uuid.uuid4()).upper()
        hosted = Hosted(
            content=content, tempauth=uuid.uuid4().hex, issued=self.clock(), **behaviour
        )
        with self._lock:
            self.files[file_id] = hosted
        extension = file_type if file_type is not None else name.rpartition(".")[2].lower()
        return {
            "contentType": FILE_INFO,
            "contentUrl": f"https://contoso.sharepoint.com/personal/me/Documents/Apps/{name}",
            "name": name,
            "content": {
                "downloadUrl": f"{self.base}/download/{file_id}?tempauth={hosted.tempauth}",
                "uniqueId": file_id,
                "fileType": extension,
                "etag": "1",
            },
        }

    def _download(self, handler: BaseHTTPRequestHandler) -> None:
        """GET of a downloadUrl: the file's bytes, as its `Hosted` behaves."""
        url = urllib.parse.urlsplit(handler.path)
        file_id = url.path.removeprefix("/download/")
        tempauth = dict(urllib.parse.parse_qsl(url.query)).get("tempauth")
        with self._lock:
            self.gets[url.path] += 1
            hosted = self.files.get(file_id)
            if hosted is not None:
                hosted.gets += 1

        def refuse(status: int, code: str, message: str) -> None:
            with self._lock:
                self.refusals.append(Refusal(url.path, status, code, message))
            body = json.dumps({"error": {"code": code, "message": message}}).encode()
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        if hosted is None or tempauth != hosted.tempauth:
            refuse(401, "unauthenticated", "The tempauth of this URL is not valid.")
            return
        if handler.headers.get("Authorization"):
            # The URL is pre-authorised: a bearer token sent with it is someone's mistake.
            refuse(401, "invalidRequest", "A pre-authorised URL takes no Authorization header.")
            return
        if self.clock() - hosted.issued > self.download_lifetime:
            refuse(401, "unauthenticated", "Token expired.")
            return
        if hosted.behaviour == "fail":
            refuse(500, "generalException", "An unspecified error has occurred.")
            return
        if hosted.behaviour in ("hang", "drip"):
            handler.close_connection = True  # nothing after it on this connection
        if hosted.behaviour == "hang":
            while not (hosted.release.is_set() or self._stopping.is_set()):
                hosted.release.wait(0.02)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        chunked = hosted.length == "chunked"
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            length = hosted.size if hosted.length is None else hosted.length
            handler.send_header("Content-Length", str(length))
        handler.end_headers()
        try:
            if hosted.behaviour == "drip":
                while not (hosted.release.is_set() or self._stopping.is_set()):
                    handler.wfile.write(b"\x00")
                    handler.wfile.flush()
                    with self._lock:
                        hosted.served += 1
                    hosted.release.wait(hosted.drip)
                return
            for chunk in hosted.chunks():
                if self._stopping.is_set():
                    return
                handler.wfile.write(
                    f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
                )
                with self._lock:
                    hosted.served += len(chunk)
            if chunked:
                handler.wfile.write(b"0\r\n\r\n")
        except OSError:
            # The bot hung up (what it should do with too much): nothing more to send.
            handler.close_connection = True
            return

    # ----- the server -----

    def _answer(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, Any]:
        route = urllib.parse.urlsplit(path).path
        if method == "GET":
            with self._lock:
                self.gets[route] += 1
        try:
            if method == "GET" and route == "/v1/.well-known/openidconfiguration":
                return 200, self._metadata()
            if method == "GET" and route == "/v1/.well-known/keys":
                return 200, self._keys()
            parts = route.strip("/").split("/")
            if parts[0] == "teams":
                return self._connector(method, parts[1:], headers, raw)
            if method == "GET" and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                return self._tenant_discovery(parts[0])
            if method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
                return self._token(parts[0], headers, raw)
            return 404, {"error": {"code": "NotFound", "message": f"no such endpoint {route}"}}
        except _Refused as refused:
            with self._lock:
                self.refusals.append(Refusal(route, refused.status, refused.code, refused.message))
            return refused.status, {"error": {"code": refused.code, "message": refused.message}}

    def _keys(self) -> dict[str, Any]:
        if self.keys_delay > 0:
            self._stopping.wait(self.keys_delay)
        held = self.keys_held
        while held is not None and not (held.is_set() or self._stopping.is_set()):
            held.wait(0.01)
        # The Bot Connector's keys carry the channels they may sign for.
        return {"keys": [signer.jwk(endorsements=["msteams"]) for signer in self.published_keys]}

    def _metadata(self) -> dict[str, Any]:
        return {
            "issuer": CONNECTOR_ISSUER,
            "authorization_endpoint": f"{self.base}/v1/.well-known/authorize",
            "jwks_uri": f"{self.base}/v1/.well-known/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }

    # The login endpoint. https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
    # ("First case: Access token request with a shared secret": grant_type=client_credentials,
    # client_id, client_secret, scope=<resource>/.default, form-encoded; errors as
    # {"error", "error_description", "error_codes"} with AADSTS codes).

    def _aad_error(
        self, tenant: str, status: int, error: str, code: int, message: str
    ) -> tuple[int, Any]:
        with self._lock:
            self.refusals.append(Refusal(f"/{tenant}/oauth2/v2.0/token", status, error, message))
        return status, {
            "error": error,
            "error_description": f"AADSTS{code}: {message}",
            "error_codes": [code],
            "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        }

    def _known_tenant(self, tenant: str) -> bool:
        return tenant in {self.tenant_id, "botframework.com"}

    def _tenant_discovery(self, tenant: str) -> tuple[int, Any]:
        if not self._known_tenant(tenant):
            return self._aad_error(
                tenant, 400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found."
            )
        return 200, {
            "issuer": f"{self.base}/{tenant}/v2.0",
            "authorization_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/token",
            "jwks_uri": f"{self.base}/{tenant}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "token"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }

    def _token(self, tenant: str, headers: Any, raw: bytes) -> tuple[int, Any]:
        form = dict(urllib.parse.parse_qsl(raw.decode(errors="replace")))
        with self._lock:
            self.calls.append(
                Call("POST", f"/{tenant}/oauth2/v2.0/token", {k: v for k, v in form.items()})
            )
        if not (headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return self._aad_error(
                tenant,
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        if not self._known_tenant(tenant):
            return self._aad_error(
                tenant, 400, "invalid_request", 90002, f"Tenant '{tenant}' not found."
            )
        if form.get("grant_type") != "client_credentials":
            return self._aad_error(
                tenant,
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            )
        if form.get("client_id") != self.app_id:
            return self._aad_error(
                tenant,
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the "
                f"directory.",
            )
        if form.get("client_secret") != self.app_password:
            return self._aad_error(
                tenant, 401, "invalid_client", 7000215, "Invalid client secret provided."
            )
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return self._aad_error(
                tenant,
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                f"must have a scope value with /.default suffixed to the resource identifier.",
            )
        if scope != BOT_SCOPE:
            return self._aad_error(
                tenant,
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {scope.removesuffix('/.default')} was not found.",
            )
        now = int(time.time())
        token = self.login_keys.sign(
            {
                "aud": BOT_AUDIENCE,
                "iss": f"https://sts.windows.net/{tenant}/",
                "appid": self.app_id,
                "tid": tenant,
                "iat": now,
                "nbf": now,
                "exp": now + 3599,
            }
        )
        return 200, {
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": token,
        }

    # The Bot Connector. https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference
    # (Create Conversation, Send to Conversation, Reply to Activity, Update Activity, Get
    # Conversation Member; errors as ErrorResponse {"error": {"code", "message"}}).

    def _connector(
        self, method: str, parts: list[str], headers: Any, raw: bytes
    ) -> tuple[int, Any]:
        body = json.loads(raw) if raw else {}
        with self._lock:
            self.calls.append(Call(method, "/" + "/".join(parts), body))
        self._authorize(headers)
        if parts[:2] != ["v3", "conversations"]:
            raise _Refused(404, "NotFound", "Unknown Bot Connector path")
        rest = [urllib.parse.unquote(p) for p in parts[2:]]
        if method == "POST" and not rest:
            return self._create_conversation(body)
        if method == "POST" and len(rest) == 2 and rest[1] == "activities":
            return self._send(rest[0], body, reply_to=None)
        if method == "POST" and len(rest) == 3 and rest[1] == "activities":
            return self._send(rest[0], body, reply_to=rest[2])
        if method == "PUT" and len(rest) == 3 and rest[1] == "activities":
            return self._update(rest[0], rest[2], body)
        if method == "GET" and len(rest) == 3 and rest[1] == "members":
            return self._member(rest[0], rest[2])
        raise _Refused(404, "NotFound", "Unknown Bot Connector operation")

    def _authorize(self, headers: Any) -> None:
        """The bot's own token, from this login, for the Bot Connector, unexpired."""
        authorization = headers.get("Authorization") or ""
        denied = _Refused(401, "Unauthorized", "Authorization has been denied for this request.")
        if not authorization.startswith("Bearer "):
            raise denied
        try:
            claims = jwt.decode(
                authorization.removeprefix("Bearer "),
                self.login_keys.public_key,
                algorithms=["RS256"],
                audience=BOT_AUDIENCE,
                options={"require": ["exp", "aud", "appid"]},
            )
        except jwt.InvalidTokenError:
            raise denied from None
        if claims["appid"] != self.app_id:
            raise denied

    def _throttle(self, scenario: str, thread: str) -> None:
        now = self.clock()
        limits = RATE_LIMITS[scenario]
        with self._lock:
            history = self._history.setdefault((scenario, thread), collections.deque())
            while history and now - history[0] >= limits[-1][0]:
                history.popleft()
            for seconds, allowed in limits:
                if sum(1 for t in history if now - t < seconds) >= allowed:
                    raise _Refused(
                        429,
                        "Throttled",
                        f"Too many requests: {allowed} {scenario} operations per {seconds:g} s "
                        f"in one conversation",
                    )
            history.append(now)

    def _size(self, activity: dict[str, Any]) -> None:
        size = len(json.dumps(activity, ensure_ascii=False).encode("utf-16-le"))
        if size > self.message_limit:
            raise _Refused(
                413,
                "MessageSizeTooBig",
                f"The request content length {size} exceeded limit of {self.message_limit} bytes",
            )

    def _conversation(self, conversation_id: str) -> Conversation:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            raise _Refused(404, "ConversationNotFound", "Conversation not found.")
        return conversation

    def _new_activity(
        self, conversation: Conversation, activity: dict[str, Any], thread: str | None
    ) -> str:
        activity_id = f"{int(time.time() * 1000)}{next(self._ids):04d}"
        stored = {
            **activity,
            "id": activity_id,
            "conversation": {"id": conversation.id},
            "replyToId": thread,
        }
        conversation.activities[activity_id] = stored
        return activity_id

    def _send(
        self, conversation_id: str, activity: dict[str, Any], reply_to: str | None
    ) -> tuple[int, Any]:
        base_id, _, root = conversation_id.partition(";messageid=")
        conversation = self._conversation(base_id)
        thread = root or reply_to
        self._throttle("send", base_id)
        self._size(activity)
        if activity.get("type") not in {"message", "typing"}:
            raise _Refused(400, "BadArgument", "Activity type is not supported")
        if thread is not None:
            if conversation.kind != "channel":
                # Reply chains are a channel's; in a chat a reply is a new message.
                thread = None
            elif thread not in conversation.activities:
                raise _Refused(404, "ActivityNotFoundInConversation", "Unknown parent message")
            else:
                # A reply chain hangs off its root, never off another reply.
                thread = conversation.activities[thread].get("replyToId") or thread
        return 201, {"id": self._new_activity(conversation, activity, thread)}

    def _update(
        self, conversation_id: str, activity_id: str, activity: dict[str, Any]
    ) -> tuple[int, Any]:
        base_id = conversation_id.partition(";messageid=")[0]
        conversation = self._conversation(base_id)
        self._throttle("send", base_id)
        self._size(activity)
        existing = conversation.activities.get(activity_id)
        if existing is None:
            raise _Refused(404, "ActivityNotFoundInConversation", "Activity not found")
        conversation.activities[activity_id] = {
            **activity,
            "id": activity_id,
            "conversation": {"id": base_id},
            "replyToId": existing.get("replyToId"),
        }
        return 200, {"id": activity_id}

    def _create_conversation(self, body: dict[str, Any]) -> tuple[int, Any]:
        members = body.get("members") or []
        tenant = (body.get("channelData") or {}).get("tenant", {}).get("id") or body.get("tenantId")
        if body.get("isGroup") or len(members) != 1:
            raise _Refused(400, "BadArgument", "Bots can only create one-on-one conversations")
        if tenant != self.tenant_id:
            raise _Refused(400, "BadArgument", "A valid tenant id is required")
        user_id = members[0].get("id", "")
        self._throttle("create", user_id)
        if user_id not in self.users:
            # What Teams answers for a user id that is not one of this tenant's.
            raise _Refused(400, "BadArgument", "Failed to decrypt pairwise id")
        conversation_id = f"a:personal-{self.users[user_id]['aadObjectId']}"
        # Teams answers the existing 1:1 chat when there is one.
        conversation = self.conversations.setdefault(
            conversation_id, Conversation(conversation_id, "personal", tenant, {user_id})
        )
        return 201, {"id": conversation.id}

    def _member(self, conversation_id: str, member_id: str) -> tuple[int, Any]:
        conversation = self._conversation(conversation_id.partition(";messageid=")[0])
        self._throttle("members", conversation.id)
        user = self.users.get(member_id) or next(
            (u for u in self.users.values() if u["aadObjectId"] == member_id), None
        )
        if user is None or user["id"] not in conversation.members:
            raise _Refused(404, "MemberNotFoundInConversation", "The member was not found.")
        return 200, user


@contextlib.contextmanager
def fake_teams(**options: Any) -> Iterator[FakeTeams]:
    """A started FakeTeams, stopped afterwards."""
    double = FakeTeams(**options).start()
    try:
        yield double
    finally:
        double.stop()
