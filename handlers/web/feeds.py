"""`GET /calendar/<token>.ics`: a person's calendar feed over HTTP.

Unknown, replaced and refused tokens all get the same 404, so an answer never tells
whether a token ever existed. The feed's owner must still be a full member (asked of the
platform after the database transaction has ended) and, once roles are enforced, hold one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.exc import DBAPIError

from bot.calendar import feeds
from bot.runtime import Runtime

log = logging.getLogger("ciw.calendar")

PREFIX = "/calendar/"
# Shown in logs instead of the path: a token in a log line would be a working address.
REDACTED = "/calendar/…ics"
_PATH = re.compile(r"^/calendar/([A-Za-z0-9_-]{20,200})\.ics$")
_NOT_FOUND = b"Not found\n"

# user id -> whether that person is still a full member of their platform; raises
# MemberUnknown if the platform cannot tell right now. One per platform a feed may belong to.
MemberCheck = Callable[[str], bool]


class MemberUnknown(Exception):
    """The platform could not say who the feed's owner is right now."""


def _matches(if_none_match: str | None, tag: str) -> bool:
    # RFC 9110 13.1.2: a list of entity tags or "*", compared weakly for GET.
    if not if_none_match:
        return False
    wanted = tag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def endpoint(
    runtime: Runtime, members: Mapping[str, MemberCheck]
) -> Callable[..., Iterable[bytes]]:
    """The WSGI handler for paths under /calendar/.

    `members` holds a membership check per platform ("slack"); a feed of a platform with
    no check here is not served.
    """

    def answer(
        start_response: Callable[..., Any],
        status: str,
        body: bytes,
        headers: list[tuple[str, str]] | None = None,
        head: bool = False,
    ) -> list[bytes]:
        base = [("Content-Length", str(len(body)))] if body else []
        start_response(status, [*(headers or []), *base])
        return [] if head else [body]

    def not_found(start_response: Callable[..., Any], head: bool) -> list[bytes]:
        return answer(
            start_response,
            "404 Not Found",
            _NOT_FOUND,
            [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")],
            head,
        )

    def unavailable(start_response: Callable[..., Any], head: bool) -> list[bytes]:
        # Calendar clients keep their last copy and ask again later.
        return answer(
            start_response,
            "503 Service Unavailable",
            b"Try again later\n",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Retry-After", "600"),
                ("Cache-Control", "no-store"),
            ],
            head,
        )

    def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        head = method == "HEAD"
        if method not in {"GET", "HEAD"}:
            return answer(
                start_response,
                "405 Method Not Allowed",
                b"",
                [("Allow", "GET, HEAD"), ("Content-Length", "0")],
            )
        found = _PATH.match(environ.get("PATH_INFO", ""))
        if found is None:
            return not_found(start_response, head)
        settings = runtime.settings
        try:
            with runtime.transaction() as session:
                feed = feeds.load(session, found.group(1))
                allowed = feed is not None and feeds.may_see(feed, settings.admins)
        except DBAPIError:
            log.warning("calendar feed unavailable: database", extra={"outcome": "unavailable"})
            return unavailable(start_response, head)
        if feed is None or not allowed:
            return not_found(start_response, head)
        try:
            is_member = members.get(feed.platform)
            member = is_member is not None and is_member(feed.user_id)
        except MemberUnknown:
            log.warning(
                "calendar feed unavailable: membership unknown",
                extra={"user": feed.user_id, "outcome": "unavailable"},
                exc_info=True,
            )
            return unavailable(start_response, head)
        if not member:
            return not_found(start_response, head)
        tag = feeds.etag(feed, settings.tz)
        headers = [
            ("ETag", tag),
            ("Cache-Control", "private, no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
        ]
        if _matches(environ.get("HTTP_IF_NONE_MATCH"), tag):
            return answer(start_response, "304 Not Modified", b"", headers, head=True)
        body = feeds.render(feed, settings.tz, runtime.templates)
        headers += [
            ("Content-Type", "text/calendar; charset=utf-8"),
            ("Content-Disposition", 'inline; filename="ciw-activities.ics"'),
        ]
        return answer(start_response, "200 OK", body, headers, head)

    return handle
