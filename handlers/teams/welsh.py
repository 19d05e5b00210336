"""A translator's Welsh .docx in Teams: sent to the bot in its personal chat, recorded as the
Welsh text of the letter it is for (SPEC "As CIW writes it", its Welsh bullet).

Teams gives a bot a file only in its personal chat (the manifest's `supportsFiles`): the
message carries a `file.download.info` attachment (`contentType`
`application/vnd.microsoft.teams.file.download.info`; `name`; `content.downloadUrl`, a
short-lived pre-authorised address; `content.uniqueId`; `content.fileType`;
https://learn.microsoft.com/microsoftteams/platform/bots/how-to/bots-filesv4, "Receive
files in personal chat"). A file sent in a channel or group chat never reaches the bot,
so `welsh …` typed there is answered (in the personal chat) with where to send it.

Which letter: a filled translation pack names its draft and version in its identifier
(`bot.letters.translation_pack.identifier`); a Welsh .docx of the translator's own needs
the message's text to say, `welsh <authority> [<year>]` (the year only when the
authority has letters of several years awaiting their Welsh). Either way only a Teams
draft whose current version is approved in English and awaits its Welsh is taken, and a
pack of another version is refused as in Slack (`bot.review.translation`).

Who: as Slack's upload, someone with an inspector's role; guests, anonymous users and
people of another tenant are refused before anything is fetched.

The message is answered at once; the rest runs after the answer (`Turn.later`), on the
Teams sender's loop: the checks that need nothing fetched first (who, which letter when
named, the file's kind), then the file, fetched from its `downloadUrl` with a plain GET
(the SDK's `ctx.files`: https only, no `Authorization` header, https-only redirects) on a
client of its own, refused as soon as its `Content-Length` is over MAX_FILE_BYTES, counted
while it streams and cut off past it, the whole fetch within DOWNLOAD_SECONDS however
slowly the bytes come. It is read (`read_welsh`, which caps what the zip really
inflates to) on a thread, and recorded once with the activity's key: the Welsh revision,
and in the outbox, in the same transaction, the note in the draft's reply chain saying
who sent it (with Approve Welsh / Request changes to Welsh) and the review card's
refresh. The translator is answered in their chat; whatever is wrong with the file is
said there, and nothing is recorded. No file name or typed word is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import posixpath
import re
from dataclasses import dataclass
from typing import Any

import httpx
from microsoft_teams.api import FILE_DOWNLOAD_INFO_CONTENT_TYPE
from microsoft_teams.apps.files import FileError, FilesAccessor
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.errors import UserError
from bot.letters import translation_pack
from bot.letters.translation_pack import UnreadableWelsh, WelshDocument, read_welsh
from bot.records import authorities, dates
from bot.records.dates import ReviewYear
from bot.review import draft_outbox, translation
from bot.runtime import Runtime
from db.models import Authority, IdempotencyKey, Role
from handlers.teams import actions, answers, commands
from handlers.teams.members import Person
from handlers.teams.turns import PLATFORM, Duplicate, Turn, claim

log = logging.getLogger("ciw.teams.welsh")

WORD = "welsh"  # the message's first word: `welsh <authority> [<year>]`
FILE_INFO = FILE_DOWNLOAD_INFO_CONTENT_TYPE
MAX_BYTES = translation_pack.MAX_FILE_BYTES
# The whole fetch, headers to last byte: a URL that hangs or drips its bytes is given up
# on, and one of the sender's few work slots freed, after this long.
DOWNLOAD_SECONDS = 30.0
CONNECT_SECONDS = 10.0
MAX_REDIRECTS = 5  # storage answers with one redirect to the host that holds the bytes
ACTION = "upload-welsh"  # Slack's name for it, in the history of refusals
_FILE_ID = re.compile(r"[A-Za-z0-9{}_.-]{1,40}")


class TooLarge(Exception):
    """The file is over MAX_BYTES: as its Content-Length says (`size`), or as counted."""

    def __init__(self, size: int | None = None) -> None:
        super().__init__("too large")
        self.size = size


class DownloadFailed(Exception):
    """Teams' download URL did not hand over the file (expired, refused, failed, too slow)."""


@dataclass(frozen=True)
class Named:
    """The letter a message names: `welsh <authority> [<year>]`, resolved."""

    authority_id: int
    year: ReviewYear | None


# -- what a message is ----------------------------------------------------------------------
def file_attachments(activity: Any) -> list[Any]:
    """The message's `file.download.info` attachments (uploaded files), in order."""
    return [
        a for a in (activity.attachments or []) if getattr(a, "content_type", None) == FILE_INFO
    ]


def words_after(activity: Any) -> str | None:
    """What follows `welsh` when the message's text starts with it (mentions removed, an
    optional leading `ciw ` dropped); None when it does not."""
    text = commands.drop_prefix(commands.bare_text(activity))
    first, _, rest = text.partition(" ")
    return rest.strip() if first.lower() == WORD else None


def is_welsh(turn: Turn) -> bool:
    """This module's message: a file sent in the personal chat, or `welsh …` typed to the
    bot anywhere it is addressed."""
    if turn.where.personal and file_attachments(turn.activity):
        return True
    return commands.addressed(turn) and words_after(turn.activity) is not None


def kind_of(name: str, file_type: str | None) -> str:
    """The file's kind: Teams' `fileType` when it is one the bot knows, else the name's
    extension (lower case, no dot)."""
    declared = (file_type or "").lower().lstrip(".")
    if declared in translation_pack.DOCUMENT_KINDS:
        return declared
    return posixpath.splitext(name)[1].lower().lstrip(".")


def file_id_of(unique_id: str | None) -> str:
    """What the Welsh text keeps as its file's id: Teams' `uniqueId` (a GUID), or a hash of
    whatever else came (the column holds 40 characters)."""
    if unique_id and _FILE_ID.fullmatch(unique_id):
        return unique_id
    if unique_id:
        return "sha256:" + hashlib.sha256(unique_id.encode()).hexdigest()[:33]
    return "teams-file"


def message_key(turn: Turn) -> str:
    """The message's id as the Welsh text keeps it (unique per translation): its activity
    key, shortened to the column's 40 characters."""
    return "teams:" + turn.key.rpartition(":")[2][:34]


# -- the checks that need nothing fetched -----------------------------------------------------
def parse_named(runtime: Runtime, words: str) -> Named | None:
    """`<authority> [<year>]` resolved (None for no words); UserError for anything else."""
    tokens = words.split()
    if not tokens:
        return None
    if len(tokens) > 2:
        raise UserError("teams_welsh_usage")
    year = dates.parse_year(tokens[1]) if len(tokens) == 2 else None
    with runtime.transaction() as session:
        authority = authorities.resolve(session, tokens[0])
        return Named(authority.id, year)


def _before_fetching(runtime: Runtime, turn: Turn, person: Person, named: Named | None) -> bool:
    """The sender's role, and when the message names a letter, that it awaits its Welsh;
    False when this very message was recorded already (a repeat)."""
    with runtime.transaction() as session:
        if session.get(IdempotencyKey, turn.key) is not None:
            return False
        actions.require(runtime, session, person.user_id, Role.INSPECTOR, ACTION)
        if named is not None:
            # Nothing fetched for a letter that takes no Welsh now.
            translation.owed_for_upload(
                session,
                WelshDocument([], "document"),
                platform=PLATFORM,
                authority=session.get(Authority, named.authority_id),
                year=named.year,
            )
        return True


# -- the file ------------------------------------------------------------------------------------
async def _declared_size(response: httpx.Response) -> None:
    # Refused on what the answer says it holds, before a byte of it is read.
    if response.has_redirect_location:
        return
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BYTES:
        raise TooLarge(int(length))


async def download(activity: Any, index: int = 0) -> bytes:
    """The bytes of the message's `index`-th uploaded file, fetched as the SDK's `ctx.files`
    fetches them (a plain GET of `downloadUrl`, https only, no token), on a client of its
    own: TooLarge past MAX_BYTES (declared or counted), DownloadFailed for anything else
    that keeps the file from us, DOWNLOAD_SECONDS for the whole of it."""
    timeout = httpx.Timeout(DOWNLOAD_SECONDS, connect=CONNECT_SECONDS)
    got = bytearray()
    try:
        async with (
            asyncio.timeout(DOWNLOAD_SECONDS),
            httpx.AsyncClient(
                timeout=timeout,
                max_redirects=MAX_REDIRECTS,
                event_hooks={"response": [_declared_size]},
            ) as client,
        ):
            files = await FilesAccessor(activity, client).list()
            if index >= len(files):
                raise DownloadFailed("the attachment has no download URL")
            async with contextlib.aclosing(files[index].stream()) as chunks:
                async for chunk in chunks:
                    got += chunk
                    if len(got) > MAX_BYTES:
                        raise TooLarge()
    except (TooLarge, DownloadFailed):
        raise
    except (FileError, RuntimeError, httpx.HTTPError, OSError, TimeoutError) as error:
        # Expired (401/403), refused, failed, too slow, not https: all the same to the
        # translator, who sends it again.
        raise DownloadFailed(type(error).__name__) from None
    return bytes(got)


# -- recording -----------------------------------------------------------------------------------
def _record(
    runtime: Runtime,
    turn: Turn,
    person: Person,
    named: Named | None,
    document: WelshDocument,
    name: str,
    file_id: str,
) -> dict[str, Any] | None:
    """Record the Welsh text once (its activity key kept with it), and queue the note in
    the reply chain and the card's refresh; what the translator is told, or None when this
    message was recorded already."""
    with runtime.transaction() as session:
        claim(session, turn.key, runtime.now())
        actions.require(runtime, session, person.user_id, Role.INSPECTOR, ACTION)
        owed = translation.owed_for_upload(
            session,
            document,
            platform=PLATFORM,
            authority=session.get(Authority, named.authority_id) if named else None,
            year=named.year if named else None,
        )
        text = translation.record_upload(
            session,
            owed,
            document,
            file_id=file_id,
            file_name=name,
            message_ts=message_key(turn),
            user_id=person.user_id,
            now=runtime.now(),
        )
        if text is None:
            return None
        draft_outbox.enqueue_welsh(
            session, text, "recorded", empty_rows=document.empty_rows, now=runtime.now()
        )
        draft = owed.version.draft
        return {
            "name": name,
            "revision": text.revision,
            "version": owed.version.number,
            "council": draft.authority.english_name,
            "year": ReviewYear(draft.review_year),
            "channel": draft.channel_id,
            "rows": len(document.paragraphs),
            "source": document.source,
            "empty_rows": document.empty_rows[:50],
        }


async def _tell(turn: Turn, person: Person, template: str, /, **data: Any) -> None:
    # To the translator in their personal chat (from a channel, that chain told where).
    data = {"platform": PLATFORM, **data}
    await answers.privately(turn, person, [answers.said(turn.runtime, template, **data)])


async def receive(turn: Turn) -> None:
    """A message for this module, after its answer: checked, fetched, read, recorded once;
    the translator told what happened, in their personal chat."""
    try:
        person = await commands.who(turn)  # guests and other tenants are told, nothing done
    except DBAPIError:
        await commands.unavailable(turn, "welsh upload member lookup")
        return
    if person is None:
        return
    try:
        await _receive(turn, person)
    except Exception:
        # Logged with its traceback (no typed text in it); the translator is not left
        # without an answer.
        log.exception("welsh upload failed")
        await _tell(turn, person, "errors/internal")


async def _receive(turn: Turn, person: Person) -> None:
    runtime = turn.runtime
    files = file_attachments(turn.activity)
    if not turn.where.personal:
        # Teams never hands a bot a file here: point to the one place it does.
        log.info("welsh outside the personal chat", extra={"outcome": "refused:scope"})
        await _tell(turn, person, "teams_welsh_personal_only")
        return
    try:
        named = await turn.sync(parse_named, runtime, words_after(turn.activity) or "")
        if not await turn.sync(_before_fetching, runtime, turn, person, named):
            log.info("repeated welsh upload dropped", extra={"outcome": "duplicate"})
            return
        if not files:
            raise UserError("teams_welsh_attach")
        if len(files) > 1:
            raise UserError("teams_welsh_one_file", count=len(files))
        attachment = files[0]
        content = attachment.content if isinstance(attachment.content, dict) else {}
        name = str(attachment.name or "The file")[:255]
        kind = kind_of(name, content.get("fileType"))
        if kind != "docx":
            raise UserError(
                "welsh_not_docx",
                name=name,
                kind=translation_pack.DOCUMENT_KINDS.get(
                    kind, f"a .{kind} file" if kind else "no Word file"
                ),
            )
    except UserError as error:
        await _tell(turn, person, f"errors/{error.template}", **error.data)
        return
    except DBAPIError:
        await commands.unavailable(turn, "welsh upload", person)
        return

    limit_mb = MAX_BYTES // 2**20
    try:
        data = await download(turn.activity)
    except TooLarge as error:
        log.info("welsh upload refused", extra={"outcome": "refused:too_large"})
        size = round(error.size / 2**20, 1) if error.size else None
        await _tell(
            turn, person, "errors/welsh_too_large", name=name, size_mb=size, limit_mb=limit_mb
        )
        return
    except DownloadFailed as error:
        log.warning("welsh upload not fetched: %s", error, extra={"outcome": "failed:download"})
        await _tell(turn, person, "errors/welsh_download_failed", name=name)
        return
    try:
        document = await turn.sync(read_welsh, data)
    except UnreadableWelsh as error:
        log.info("welsh upload refused", extra={"outcome": f"refused:{error.reason}"})
        await _tell(
            turn, person, "errors/welsh_unreadable", name=name, reason=error.reason, **error.data
        )
        return
    finally:
        del data

    file_id = file_id_of(
        content.get("uniqueId") if isinstance(content.get("uniqueId"), str) else None
    )
    told: dict[str, Any] | None = None
    for _attempt in range(3):
        try:
            told = await turn.sync(_record, runtime, turn, person, named, document, name, file_id)
            break
        except (Duplicate, IntegrityError) as error:
            # The same message recorded meanwhile (a retry): done. Or another upload took
            # the next revision number at the same moment: try again with the one after.
            seen = await turn.sync(_was_recorded, runtime, turn)
            if seen or isinstance(error, Duplicate):
                log.info("repeated welsh upload dropped", extra={"outcome": "duplicate"})
                return
        except UserError as error:
            await _tell(turn, person, f"errors/{error.template}", **{"name": name, **error.data})
            return
        except DBAPIError:
            await commands.unavailable(turn, "welsh upload", person)
            return
    if told is None:
        return
    runtime.kick()  # the note in the reply chain and the card, queued with the record
    log.info("welsh upload recorded", extra={"outcome": "recorded"})
    await _tell(turn, person, "teams_welsh_recorded", **told)


def _was_recorded(runtime: Runtime, turn: Turn) -> bool:
    with runtime.transaction() as session:
        return session.get(IdempotencyKey, turn.key) is not None


def register(app: Any, runtime: Runtime) -> None:
    """Files sent to the bot, and `welsh …` typed to it (before commands: `welsh` is none)."""

    @app.on_message
    async def on_message(ctx: Any) -> None:
        turn = Turn.of(runtime, app, ctx)
        if not is_welsh(turn):
            await ctx.next()
            return
        if not turn.first_sighting():
            log.info("repeated teams activity dropped", extra={"outcome": "duplicate"})
            return
        turn.later(receive, "welsh upload")
