"""A translator's Welsh .docx uploaded into a draft's thread, recorded as the Welsh text.

Registered before the thread-reply listener: its matcher takes only a person's document
upload (`file_share`) in the thread of a draft whose current version is approved in
English and still awaits its Welsh text; every other message goes on to the listeners
after it. The file is fetched from Slack with the bot token (as Slack requires for
`url_private_download`), checked, read and recorded once; a file that cannot be the Welsh
text is answered privately, saying what is wrong, and nothing is recorded.
"""

from __future__ import annotations

import logging
import posixpath
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from slack_bolt import App
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.letters import translation_pack
from bot.letters.translation_pack import UnreadableWelsh, read_welsh
from bot.review import draft_outbox, translation
from bot.runtime import Runtime
from db.models import Role
from handlers.slack import deliveries, permissions
from handlers.slack import text as slack_text

log = logging.getLogger("ciw.welsh")

# Word documents in any of their forms and what else a translator might send (answered:
# a .docx is needed); pictures and the like stay review comments. Shared with Teams.
DOCUMENT_TYPES = translation_pack.DOCUMENT_KINDS
MAX_BYTES = translation_pack.MAX_FILE_BYTES
DOWNLOAD_TIMEOUT = 20


class DownloadFailed(Exception):
    """Slack did not hand over the file's content."""


def _kind(file: dict[str, Any]) -> str:
    name = str(file.get("name") or "")
    extension = posixpath.splitext(name)[1].lower().lstrip(".")
    filetype = str(file.get("filetype") or "").lower()
    return filetype if filetype in DOCUMENT_TYPES else extension


def _partial(file: dict[str, Any]) -> bool:
    # Slack sends a partial file object in some events; files.info has the rest.
    return file.get("file_access") == "check_file_info" or not file.get("url_private_download")


def _document(event: dict[str, Any]) -> dict[str, Any] | None:
    # A partial file object names no type: it may be the Welsh .docx, so it is looked up.
    for file in event.get("files") or []:
        if (
            isinstance(file, dict)
            and file.get("id")
            and (_kind(file) in DOCUMENT_TYPES or _partial(file))
        ):
            return file
    return None


def is_welsh_upload_in(session: Session, event: dict[str, Any]) -> bool:
    """A person's document upload in the thread of a draft awaiting its Welsh text (read
    in the caller's transaction)."""
    if (
        event.get("subtype") != "file_share"
        or event.get("bot_id")
        or not event.get("user")
        or not event.get("thread_ts")
        or event.get("thread_ts") == event.get("ts")
        or _document(event) is None
    ):
        return False
    return translation.awaiting(session, event["channel"], event["thread_ts"]) is not None


def is_welsh_upload(event: dict[str, Any], context: Any) -> bool:
    """The listener's matcher: `is_welsh_upload_in` in a transaction of its own."""
    runtime: Runtime = context["ciw"]
    with runtime.transaction() as session:
        return is_welsh_upload_in(session, event)


def _allowed_url(runtime: Runtime, url: str) -> bool:
    # The bot token goes only to Slack: its file host, or the host SLACK_API_URL names.
    parts = urllib.parse.urlsplit(url)
    api = urllib.parse.urlsplit(runtime.settings.slack_api_url)
    host = parts.hostname or ""
    if host == api.hostname and parts.scheme == api.scheme:
        return True
    return parts.scheme == "https" and (
        host.endswith(".slack.com") or host.endswith(".slack-gov.com")
    )


class _SlackOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows Slack's redirects, but never carries the bot token to a host not Slack's."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and not _allowed_url(self.runtime, new.full_url):
            new.remove_header("Authorization")
        return new


def download(runtime: Runtime, url: str) -> bytes:
    """The file's bytes, fetched with the bot token; DownloadFailed if Slack gave none.

    Slack answers a request without the token with its sign-in page (HTML), so HTML is
    no file; more than MAX_BYTES is not read.
    """
    if not url or not _allowed_url(runtime, url):
        raise DownloadFailed(f"not a Slack file address: {url!r}")
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {runtime.settings.slack_bot_token}"}
    )
    try:
        opener = urllib.request.build_opener(_SlackOnlyRedirects(runtime))
        with opener.open(request, timeout=DOWNLOAD_TIMEOUT) as answer:
            if "text/html" in (answer.headers.get("Content-Type") or ""):
                raise DownloadFailed("Slack answered with a page, not the file")
            data = answer.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError) as error:
        raise DownloadFailed(str(error)) from error
    return data


def on_upload(event: dict[str, Any], client: Any, context: Any) -> None:
    """Check, fetch, read and record the Welsh .docx once; acknowledge it in the thread."""
    runtime: Runtime = context["ciw"]
    channel, thread, user, ts = event["channel"], event["thread_ts"], event["user"], event["ts"]
    file = _document(event)
    assert file is not None  # the matcher saw one
    name = str(file.get("name") or file.get("title") or "The file")

    def tell(template: str, **data: Any) -> None:
        client.chat_postEphemeral(
            channel=channel,
            user=user,
            thread_ts=thread,
            text=slack_text.templates(runtime).message(f"errors/{template}", name=name, **data),
        )

    try:
        with runtime.transaction() as session:
            permissions.require(runtime, session, user, Role.INSPECTOR, "upload-welsh")
            owed = translation.awaiting(session, channel, thread)
            if owed is None or translation.seen(session, owed.id, ts):
                return  # approved meanwhile, or this message is recorded already
    except UserError as error:
        tell(error.template, **error.data)
        return

    if _partial(file):
        file = client.files_info(file=file["id"])["file"]
        name = str(file.get("name") or file.get("title") or name)
        if _kind(file) not in DOCUMENT_TYPES:
            log.info("file %s in a thread awaiting Welsh is no document", file.get("id"))
            return
    kind = _kind(file)
    if kind != "docx":
        tell("welsh_not_docx", kind=DOCUMENT_TYPES.get(kind, kind))
        return
    size = int(file.get("size") or 0)
    if size > MAX_BYTES:
        tell("welsh_too_large", size_mb=round(size / 1024 / 1024, 1), limit_mb=MAX_BYTES // 2**20)
        return
    try:
        data = download(runtime, str(file.get("url_private_download") or ""))
    except DownloadFailed as error:
        log.warning("Welsh upload %s not fetched: %s", file.get("id"), error)
        tell("welsh_download_failed")
        return
    if len(data) > MAX_BYTES:
        tell("welsh_too_large", size_mb=round(len(data) / 2**20, 1), limit_mb=MAX_BYTES // 2**20)
        return
    try:
        document = read_welsh(data)
    except UnreadableWelsh as error:
        tell("welsh_unreadable", reason=error.reason, **error.data)
        return

    text_id = None
    for _attempt in range(3):
        try:
            text_id = _record(runtime, channel, thread, ts, user, name, file, document)
            break
        except UserError as error:
            tell(error.template, **error.data)
            return
        except IntegrityError:
            # Another process recorded an upload at the same moment: this very message (a
            # repeated event: done) or another one (take the next revision number).
            with runtime.transaction() as session:
                owed = translation.awaiting(session, channel, thread)
                if owed is None or translation.seen(session, owed.id, ts):
                    return
    if text_id is not None:
        deliveries.kick(runtime)  # the acknowledgement queued with the record


def _record(
    runtime: Runtime,
    channel: str,
    thread: str,
    ts: str,
    user: str,
    name: str,
    file: dict[str, Any],
    document: Any,
) -> int | None:
    with runtime.transaction() as session:
        owed = translation.awaiting(session, channel, thread)
        if owed is None:
            return None
        text = translation.record_upload(
            session,
            owed,
            document,
            file_id=str(file["id"]),
            file_name=name,
            message_ts=ts,
            user_id=user,
            now=runtime.now(),
        )
        if text is None:
            return None
        # Acknowledged in the thread with the buttons that review it: queued with the record.
        draft_outbox.enqueue_welsh(
            session, text, "recorded", empty_rows=document.empty_rows, now=runtime.now()
        )
        return text.id


def register(app: App) -> None:
    """Register this module's listener (before the thread-reply listener)."""
    app.event({"type": "message", "subtype": "file_share"}, matchers=[is_welsh_upload])(on_upload)
