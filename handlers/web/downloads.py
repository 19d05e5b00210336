"""`GET /files/<token>`: a file of a draft version through its download link, over HTTP:
the version's letter, its translation pack, or a final file of the letter issued from it;
or a year's overview as CSV (`bot.review.file_links`).

Unknown, malformed and expired tokens all get the same 404, so an answer never tells
whether a token ever existed. The token is the link's only secret: no log line carries
the path, only `REDACTED` and the link's id (the first characters of its hash). A
download (GET, not HEAD) is recorded in the draft's history in the transaction that
read the link, so a file that could not be made is never recorded as downloaded.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.exc import DBAPIError

from bot import logging_setup
from bot.review import file_links
from bot.runtime import Runtime

log = logging.getLogger("ciw.files")

PREFIX = file_links.PREFIX
# Shown in logs instead of the path: a token in a log line would be a working address.
REDACTED = "/files/…"
_PATH = re.compile(r"^/files/([^/]*)$")
# Methods logged by name; any other word a client sends is logged as unknown.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_NOT_FOUND = b"Not found\n"
_TEXT = ("Content-Type", "text/plain; charset=utf-8")
# Browsers must neither keep the letter in a shared cache nor guess it is something else,
# and the link must not leak through a Referer when the document is opened from a page.
_PRIVATE = [
    ("Cache-Control", "private, no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def content_disposition(filename: str) -> str:
    """`attachment` with the name twice: plain ASCII for every client, and RFC 5987's
    `filename*` (UTF-8, percent-encoded) for those that read it."""
    ascii_name = _UNSAFE.sub("_", filename) or "letter.docx"
    encoded = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


def endpoint(runtime: Runtime) -> Callable[..., Iterable[bytes]]:
    """The WSGI handler for paths under /files/ (GET and HEAD).

    It logs one line per request itself (the path redacted), and answers 500 to a failure
    after logging it, so whoever mounts it must not log the path either.
    """

    def answer(
        start_response: Callable[..., Any],
        status: str,
        body: bytes,
        headers: list[tuple[str, str]],
        head: bool = False,
        exc_info: Any = None,
    ) -> list[bytes]:
        # HEAD gets GET's headers, Content-Length included, without the body (RFC 9110 9.3.2).
        start_response(status, [*headers, ("Content-Length", str(len(body)))], exc_info)
        return [] if head else [body]

    def not_found(start_response: Callable[..., Any], head: bool) -> list[bytes]:
        return answer(
            start_response,
            "404 Not Found",
            _NOT_FOUND,
            [_TEXT, ("Cache-Control", "no-store")],
            head,
        )

    def serve(
        environ: dict[str, Any], start_response: Callable[..., Any], seen: dict[str, str]
    ) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        head = method == "HEAD"
        if method not in {"GET", "HEAD"}:
            return answer(start_response, "405 Method Not Allowed", b"", [("Allow", "GET, HEAD")])
        found = _PATH.match(environ.get("PATH_INFO", ""))
        if found is None:
            return not_found(start_response, head)
        token = found.group(1)
        try:
            with runtime.transaction() as session:
                now = runtime.now()
                opened = file_links.open_link(session, token, now=now)
                if opened is None:
                    return not_found(start_response, head)
                seen["link"] = file_links.link_id(token)
                seen["kind"] = opened.kind
                made = file_links.contents(runtime, session, opened)
                if not head:
                    file_links.record_download(session, token, opened, now=now)
        except DBAPIError:
            log.warning(
                "file link unavailable: database",
                extra={"path": REDACTED, "outcome": "unavailable"},
            )
            return answer(
                start_response,
                "503 Service Unavailable",
                b"Try again later\n",
                [_TEXT, ("Retry-After", "60"), ("Cache-Control", "no-store")],
                head,
            )
        headers = [
            ("Content-Type", made.content_type),
            ("Content-Disposition", content_disposition(made.filename)),
            *_PRIVATE,
        ]
        return answer(start_response, "200 OK", made.content, headers, head)

    def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started = time.monotonic()
        seen: dict[str, str] = {}

        def recording(status: str, headers: list, exc_info: Any = None) -> Any:
            seen["status"] = status.split(" ")[0]
            return start_response(status, headers, exc_info)

        try:
            result = serve(environ, recording, seen)
        except Exception:
            # Logged here, not by the server: its line would carry the token in the path.
            log.exception("file link failed", extra={"path": REDACTED, "link": seen.get("link")})
            result = answer(
                recording,
                "500 Internal Server Error",
                b"Internal error\n",
                [_TEXT, ("Cache-Control", "no-store")],
                environ.get("REQUEST_METHOD") == "HEAD",
                sys.exc_info(),
            )
        log.info(
            "request",
            extra={
                "path": REDACTED,
                "method": logging_setup.known(environ.get("REQUEST_METHOD"), METHODS),
                "status": seen.get("status"),
                "link": seen.get("link"),
                "kind": seen.get("kind"),
                "ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return result

    return handle
