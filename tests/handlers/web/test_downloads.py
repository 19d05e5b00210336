"""Download links through real HTTP: `downloads.endpoint` served on loopback as `serve` serves it,
fetched with urllib, and the file read back with python-docx."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message

import docx
import pytest
from a2wsgi import WSGIMiddleware
from sqlalchemy import select

from bot import logging_setup
from bot.demo import load_demo
from bot.review import draft_versions, drafts, file_links, version_file
from db.models import Authority, Draft, HistoryEntry, IssuedFile, LetterIssue
from handlers.serve import Routes, Served
from handlers.web import downloads
from tests.conftest import SIGNING_SECRET

WREXHAM = "Wrexham County Borough Council"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes


@pytest.fixture
def base(runtime):
    """The endpoint alone, served on a free loopback port as `serve` serves it."""
    served = Served(Routes(WSGIMiddleware(downloads.endpoint(runtime), workers=2))).start()
    yield served.url
    served.stop()


def fetch(base: str, path: str, method: str = "GET") -> Answer:
    request = urllib.request.Request(base + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return Answer(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


def make_version(runtime, clock, *, approved: bool = False) -> int:
    """Version 1 of Wrexham's 2019-20 draft, assembled from the demo records (not posted)."""
    clock.set("2020-08-03T10:00:00")
    with runtime.transaction() as session:
        load_demo(session, now=runtime.now())
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        draft = Draft(
            authority=wrexham,
            review_year=2019,
            channel_id="19:review@thread.tacv2",
            platform="teams",
            created_by="U0INSPECT",
            created_at=runtime.now(),
        )
        session.add(draft)
        session.flush()
        version = draft_versions.new_version(
            runtime, session, draft, actor="U0INSPECT", post=False
        ).version
        if approved:
            version.approved_at = runtime.now()
        return version.id


def link_to(runtime, version_id: int, kind: str = file_links.DRAFT, issued_file=None) -> str:
    with runtime.transaction() as session:
        version = drafts.get_version(session, version_id)
        file = session.get(IssuedFile, issued_file) if issued_file else None
        return file_links.issue(
            session, version, actor="U0INSPECT", now=runtime.now(), kind=kind, issued_file=file
        )


def downloads_recorded(runtime) -> list[HistoryEntry]:
    with runtime.transaction() as session:
        rows = list(
            session.scalars(
                select(HistoryEntry)
                .where(HistoryEntry.action == "downloaded")
                .order_by(HistoryEntry.id)
            )
        )
        session.expunge_all()
        return rows


def paragraphs(body: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(body)).paragraphs]


def test_a_draft_versions_link_downloads_its_letter_marked_draft(runtime, clock, base):
    version_id = make_version(runtime, clock)
    token = link_to(runtime, version_id)

    answer = fetch(base, f"/files/{token}")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == DOCX
    assert answer.headers["Content-Length"] == str(len(answer.body))
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="ciw-letter-wrexham-2019-20-v1.docx"; '
        "filename*=UTF-8''ciw-letter-wrexham-2019-20-v1.docx"
    )
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"

    text = paragraphs(answer.body)
    assert text[0] == "DRAFT \u2013 version 1"
    assert any(WREXHAM in line for line in text)
    assert "Yours sincerely," in "\n".join(text)
    document = docx.Document(io.BytesIO(answer.body))
    assert document.core_properties.title == f"Draft letter {WREXHAM} 2019-20, version 1"

    [entry] = downloads_recorded(runtime)
    with runtime.transaction() as session:
        draft_id = session.scalars(select(Draft.id)).one()
    assert (entry.subject, entry.subject_id, entry.action) == ("draft", str(draft_id), "downloaded")
    assert entry.changes == {
        "version": 1,
        "kind": "draft",
        "link": file_links.token_hash(token)[:12],
    }

    fetch(base, f"/files/{token}")
    assert len(downloads_recorded(runtime)) == 2  # every download, not just the first


def test_the_approved_versions_file_has_no_draft_marking(runtime, clock, base):
    token = link_to(runtime, make_version(runtime, clock, approved=True))
    answer = fetch(base, f"/files/{token}")
    assert answer.status == 200
    assert (
        'filename="ciw-letter-wrexham-2019-20-v1-approved.docx"'
        in (answer.headers["Content-Disposition"])
    )
    text = "\n".join(paragraphs(answer.body))
    assert WREXHAM in text and "DRAFT" not in text


def test_a_pack_link_downloads_the_versions_translation_pack(runtime, clock, base):
    version_id = make_version(runtime, clock, approved=True)
    token = link_to(runtime, version_id, file_links.PACK)
    answer = fetch(base, f"/files/{token}")
    assert answer.status == 200 and answer.headers["Content-Type"] == DOCX
    assert (
        'filename="ciw-letter-wrexham-2019-20-v1-cyfieithu.docx"'
        in answer.headers["Content-Disposition"]
    )
    pack = docx.Document(io.BytesIO(answer.body))
    (table,) = pack.tables
    assert [c.text for c in table.rows[0].cells] == ["English", "Cymraeg"]
    assert any(WREXHAM in row.cells[0].text for row in table.rows[1:])
    with runtime.transaction() as session:
        draft_id = session.scalars(select(Draft.id)).one()
    assert pack.core_properties.identifier == f"ciw-translation-pack:draft={draft_id}:version=1"
    [entry] = downloads_recorded(runtime)
    assert entry.changes == {
        "version": 1,
        "kind": "pack",
        "link": file_links.token_hash(token)[:12],
    }


def test_a_final_link_downloads_the_issued_file_as_it_was_kept(runtime, clock, base):
    version_id = make_version(runtime, clock, approved=True)
    kept = b"PK\x03\x04 the letter as issued"
    with runtime.transaction() as session:
        version = drafts.get_version(session, version_id)
        issue = LetterIssue(
            authority_id=version.draft.authority_id,
            review_year=2019,
            draft_id=version.draft_id,
            version_id=version.id,
            issued_on=dt.date(2020, 8, 3),
            issued_by="U0REVIEW",
        )
        session.add(issue)
        session.flush()
        files = [
            IssuedFile(
                issue_id=issue.id,
                language=language,
                name=name,
                title=name,
                content=content,
                sha256="0",
            )
            for language, name, content in (
                ("en", f"{WREXHAM} 2019-20 performance review letter.docx", kept),
                ("cy", "Cyngor Bwrdeistref Sirol Wrecsam (Cymraeg).docx", b"cy"),
            )
        ]
        session.add_all(files)
        session.flush()
        english, welsh = files[0].id, files[1].id
    token = link_to(runtime, version_id, file_links.FINAL, issued_file=welsh)
    answer = fetch(base, f"/files/{token}")
    assert answer.status == 200 and answer.body == b"cy"
    token = link_to(runtime, version_id, file_links.FINAL, issued_file=english)
    answer = fetch(base, f"/files/{token}")
    assert answer.status == 200 and answer.body == kept
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="Wrexham_County_Borough_Council_2019-20_performance_review_'
        "letter.docx\"; filename*=UTF-8''Wrexham%20County%20Borough%20Council%202019-20%20"
        "performance%20review%20letter.docx"
    )
    assert [e.changes["kind"] for e in downloads_recorded(runtime)] == ["final", "final"]
    assert [e.changes["language"] for e in downloads_recorded(runtime)] == ["cy", "en"]


def test_head_answers_the_headers_without_the_file_and_is_no_download(runtime, clock, base):
    token = link_to(runtime, make_version(runtime, clock))
    answer = fetch(base, f"/files/{token}", method="HEAD")
    assert answer.status == 200 and answer.body == b""
    assert answer.headers["Content-Type"] == DOCX
    assert int(answer.headers["Content-Length"]) > 1000
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert downloads_recorded(runtime) == []


def test_unknown_malformed_and_expired_links_get_the_same_404(runtime, clock, base):
    version_id = make_version(runtime, clock)
    expired = link_to(runtime, version_id)
    clock.value += dt.timedelta(days=14)
    fresh = link_to(runtime, version_id)
    assert fetch(base, f"/files/{fresh}").status == 200

    answers = [
        fetch(base, path)
        for path in (
            f"/files/{expired}",
            "/files/" + "x" * 43,
            "/files/short",
            "/files/",
            f"/files/{fresh}/more",
            f"/files/{fresh}x",
            "/files/" + "a" * 500,
        )
    ]
    for answer in answers:
        assert answer.status == 404
        assert (answer.body, answer.headers["Content-Type"]) == (
            b"Not found\n",
            "text/plain; charset=utf-8",
        )
        assert "Content-Disposition" not in answer.headers
    assert (
        len(
            {
                tuple(sorted((k, v) for k, v in a.headers.items() if k.lower() != "date"))
                for a in answers
            }
        )
        == 1
    )
    assert len(downloads_recorded(runtime)) == 1  # only the fresh link's


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_get_405_with_allow(runtime, clock, base, method):
    token = link_to(runtime, make_version(runtime, clock))
    answer = fetch(base, f"/files/{token}", method=method)
    assert answer.status == 405
    assert answer.headers["Allow"] == "GET, HEAD"
    assert downloads_recorded(runtime) == []


@pytest.fixture
def json_logs():
    """The program's log lines, as `ciw-bot serve` writes them."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    logging_setup.configure(logging.INFO, stream=stream, secrets=[SIGNING_SECRET])
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_tokens_never_reach_the_logs(runtime, clock, base, json_logs):
    token = link_to(runtime, make_version(runtime, clock))
    assert fetch(base, f"/files/{token}").status == 200
    assert fetch(base, f"/files/{token[:-1]}").status == 404
    lines = json_logs()
    requests = [line for line in lines if line.get("logger") == "ciw.files"]
    assert [(line["path"], line["status"]) for line in requests] == [
        ("/files/…", "200"),
        ("/files/…", "404"),
    ]
    assert requests[0]["link"] == file_links.token_hash(token)[:12]
    assert token not in json.dumps(lines) and token[:-1] not in json.dumps(lines)


def test_a_failing_file_is_a_500_whose_log_keeps_the_token_out(
    runtime, clock, base, json_logs, monkeypatch
):
    token = link_to(runtime, make_version(runtime, clock))

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom {args} {kwargs}")

    monkeypatch.setattr(version_file, "version_docx", broken)
    answer = fetch(base, f"/files/{token}")
    assert answer.status == 500 and answer.body == b"Internal error\n"
    lines = json_logs()
    assert any(line.get("msg") == "file link failed" and "exc" in line for line in lines)
    assert token not in json.dumps(lines)
    assert downloads_recorded(runtime) == []  # nothing was downloaded


def test_content_disposition_keeps_a_safe_ascii_name_and_the_exact_one_for_rfc_5987():
    assert downloads.content_disposition('Ynys Môn "v1".docx') == (
        'attachment; filename="Ynys_M_n__v1_.docx"; '
        "filename*=UTF-8''Ynys%20M%C3%B4n%20%22v1%22.docx"
    )
