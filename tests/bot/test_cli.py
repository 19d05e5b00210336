"""The `ciw-bot` program as an operator runs it: real processes, real environment."""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from handlers.slack.double import SignedRequests
from tests.serving import ServeProcess

PROGRAM = [sys.executable, "-m", "bot.cli"]


def run(args, env, stdin="", timeout=60):
    return subprocess.run(
        PROGRAM + args, input=stdin, capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture
def base_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CIW_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    return env


@pytest.mark.parametrize(
    ("args", "env_extra", "named"),
    [
        (["serve"], {}, "SLACK_BOT_TOKEN"),
        (["serve"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        (["socket"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        (["clock", "--once"], {}, "SLACK_BOT_TOKEN"),
        (
            ["clock", "--now", "2020-04-09T09:00"],
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"},
            "--once",
        ),
        (["db", "upgrade"], {"CIW_TIMEZONE": "Nowhere/Land"}, "CIW_TIMEZONE"),
    ],
)
def test_missing_setting_stops_with_one_clear_line(base_env, args, env_extra, named):
    result = run(args, {**base_env, **env_extra})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]


def test_shell_demo_lists_the_wrexham_year_and_records_commands(base_env):
    script = "\n".join(
        [
            "/ciw list wrexham 2019-20",
            "/ciw list wrexham 2019-20 page 2",
            "/ciw list wrexham 2019-20 page 3",
            "log-activity wrexham adults 2019-10-15..2019-10-16 inspection of CMHT with HIW",
            "log-activity wrexam adults 2019-10-15 typo",
        ]
    )
    result = run(["shell", "--demo"], base_env, stdin=script + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Demo: Wrexham 2019-20 and 2020-21 records loaded" in out
    assert "focused activity in children's services, 24 and 25 September 2019" in out
    assert "The CMHT inspection found delays between referral and assessment." in out
    assert "We acknowledge, due to the unprecedented circumstances relating to COVID-19" in out
    # The year's list comes in three pages, each pointing to the next; the notes come last.
    assert "Page 1 of 3. Next: `/ciw list wrexham 2019-20 page 2`" in out.replace("_", "")
    assert "Page 2 of 3. Next: `/ciw list wrexham 2019-20 page 3`" in out.replace("_", "")
    assert "inspection of CMHT with HIW, 15 and 16 October 2019" in out
    assert "Did you mean `wrexham`" in out
    # A second run on the same database does not load the demo twice.
    again = run(["shell", "--demo"], base_env, stdin="list wrexham 2019-20\n")
    assert "(0 new)" in again.stdout
    assert again.stdout.count("improvement conference, 3 May 2019") == 1


def test_db_upgrade_reports_the_revision(base_env):
    result = run(["db", "upgrade"], base_env)
    assert result.returncode == 0, result.stderr
    assert "database schema at revision" in result.stdout


def test_non_sqlite_database_on_an_old_schema_is_refused(base_env, engine):
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite upgrades itself")
    from sqlalchemy import text

    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    try:
        env = {
            **base_env,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s",
        }
        result = run(["serve", "--port", "1"], env)
    finally:
        with engine.begin() as connection:
            from db.session import head_revision

            connection.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": head_revision()}
            )
    assert result.returncode == 2
    assert "ciw-bot db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_answers_health_and_signed_commands(base_env, slack, tmp_path: Path):
    env = {
        **base_env,
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "serve-secret",
        "SLACK_API_URL": slack.api_url,
    }
    served = ServeProcess(env, tmp_path / "serve.log")
    try:
        assert served.health == (200, {"status": "ok", "database": "ok"})
        body, headers = SignedRequests("serve-secret", slack).command("list wrexham 2019-20")
        request = urllib.request.Request(
            f"{served.url}/slack/events", data=body, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            assert r.status == 200
        reply = slack.wait_for(lambda s: s.responses())[0]
        assert "Wrexham County Borough Council" in reply.get("text")
        unsigned = urllib.request.Request(
            f"{served.url}/slack/events",
            data=body,
            headers={"Content-Type": headers["Content-Type"]},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unsigned, timeout=5)
        assert refused.value.code == 401
    finally:
        served.stop(timeout=10)


def test_draft_letter_without_slack(base_env, tmp_path):
    import docx

    run(["shell", "--demo"], base_env, stdin="")
    markdown = run(["draft-letter", "wrexham", "--year", "2019-20", "--format", "md"], base_env)
    assert markdown.returncode == 0, markdown.stderr
    assert (
        "Care Inspectorate Wales (CIW) Local Authority Performance Review April 2019 - March 2020"
        in markdown.stdout
    )
    assert "- focused activity in children's services, 24 and 25 September 2019" in markdown.stdout
    out = tmp_path / "letter.docx"
    written = run(["draft-letter", "wrex", "--year", "2019-20", "--out", str(out)], base_env)
    assert written.returncode == 0, written.stderr
    text = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert (
        "inspection of Community Mental Health Team with Healthcare Inspectorate Wales (HIW), 15 and 16 October 2019"
        in text
    )
    # The link typed in a note keeps its address.
    assert "The [report](https://www.careinspectorate.wales) is published" in markdown.stdout
    refused = run(["draft-letter", "wrexham", "--year", "2019-21"], base_env)
    assert refused.returncode == 2
    assert "2019-20" in refused.stderr and "Traceback" not in refused.stderr


def test_a_missing_or_unusable_letter_template_stops_the_start_with_one_line(base_env, tmp_path):
    missing = run(
        ["draft-letter", "wrexham"], {**base_env, "CIW_LETTER_TEMPLATE": str(tmp_path / "x.docx")}
    )
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().count("\n") == 0
    assert "CIW_LETTER_TEMPLATE" in missing.stderr and "x.docx" in missing.stderr
    not_word = tmp_path / "notes.docx"
    not_word.write_text("not a Word file")
    refused = run(["draft-letter", "wrexham"], {**base_env, "CIW_LETTER_TEMPLATE": str(not_word)})
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "not a Word .docx file" in refused.stderr
    assert refused.stderr.strip().count("\n") == 0


def test_serve_with_clock_sends_what_is_due(base_env, slack, tmp_path):
    """`serve --with-clock`: the reminder clock runs in the serving process."""
    import datetime as dt

    from bot.records import activities
    from bot.records.dates import When
    from bot.settings import Settings
    from db.models import Authority, Service
    from handlers.slack.app import build_runtime

    real_now = dt.datetime.now(dt.UTC)
    settings = Settings.from_env({"DATABASE_URL": base_env["DATABASE_URL"]})
    runtime = build_runtime(settings, clock=lambda: real_now - dt.timedelta(days=30))
    with runtime.transaction() as session:
        wrexham = session.query(Authority).filter_by(slug="wrexham").one()
        start = (real_now + dt.timedelta(days=60)).date()
        activity = activities.log_activity(
            session,
            authority=wrexham,
            service=Service.ADULTS,
            when=When(start, start),
            title="performance review meeting",
            details=None,
            inspectors=["U0ALEX"],
            actor="U0INSPECT",
            channel_id="G0REVIEW",
            today=runtime.today(),
            now=runtime.now(),
        )
        # Postponed a month ago: its "still postponed" raise fell due two weeks ago.
        activities.postpone(
            session, activity, reason="council elections", actor="U0INSPECT", now=runtime.now()
        )
    runtime.engine.dispose()
    env = {
        **base_env,
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s3cret-value",
        "SLACK_API_URL": slack.api_url,
    }
    served = ServeProcess(env, tmp_path / "serve.log", args=["--with-clock"])
    try:
        posts = slack.wait_for(
            lambda s: [c for c in s.of("chat.postMessage") if c.get("channel") == "G0REVIEW"],
            timeout=30,
        )
        assert any("performance review meeting" in (c.get("text") or "") for c in posts)
    finally:
        served.stop(timeout=10)


def test_draft_letter_out_writes_the_issued_files_of_an_issued_year(base_env, tmp_path):
    import datetime as dt

    from sqlalchemy import select

    from db.models import Authority, Draft, DraftVersion, IssuedFile, Language, LetterIssue
    from db.session import make_engine, session_factory, transaction, upgrade

    engine = make_engine(base_env["DATABASE_URL"])
    upgrade(engine)
    now = dt.datetime(2020, 8, 5, 9, tzinfo=dt.UTC)
    kept = {"en": b"PK issued English bytes", "cy": b"PK issued Welsh bytes"}
    with transaction(session_factory(engine)) as session:
        wrexham = session.scalars(select(Authority).where(Authority.slug == "wrexham")).one()
        wrexham.language = Language.BOTH
        draft = Draft(authority=wrexham, review_year=2019, channel_id="G0", created_by="U0")
        version = DraftVersion(draft=draft, number=1, body="letter", created_by="U0")
        session.add_all([draft, version])
        session.flush()
        issue = LetterIssue(
            authority_id=wrexham.id, review_year=2019, draft_id=draft.id, version_id=version.id,
            issued_on=dt.date(2020, 8, 5), issued_by="U0REVIEW", issued_at=now,
        )  # fmt: skip
        session.add(issue)
        session.flush()
        for language, content in kept.items():
            session.add(
                IssuedFile(
                    issue_id=issue.id, language=language, name=f"letter {language}.docx",
                    title="t", content=content, sha256="0" * 64,
                )
            )  # fmt: skip
    engine.dispose()

    for lang, expected in [("en", "issued letter for"), ("cy", "issued Welsh letter for")]:
        out = tmp_path / f"{lang}.docx"
        extra = ["--lang", lang] if lang == "cy" else []
        written = run(
            ["draft-letter", "wrexham", "--year", "2019-20", "--out", str(out), *extra], base_env
        )
        assert written.returncode == 0, written.stderr
        assert expected in written.stdout and "dated 5 August 2020" in written.stdout
        assert out.read_bytes() == kept[lang]  # exactly as issued, not assembled again

    # A year never issued has no Welsh letter to write; its English draft is assembled.
    refused = run(
        ["draft-letter", "wrexham", "--year", "2018-19", "--out", str(tmp_path / "x.docx"),
         "--lang", "cy"],
        base_env,
    )  # fmt: skip
    assert refused.returncode == 2 and "has not been issued" in refused.stderr
    assert not (tmp_path / "x.docx").exists()


def test_overview_without_a_chat_platform_as_markdown_and_csv(base_env, engine):
    import csv
    import io
    import re

    from sqlalchemy.orm import Session

    from db.models import Decision
    from tests.bot.review.test_overview import decide, draft, issue

    with Session(engine) as session, session.begin():
        decide(session, draft(session, "cardiff"), Decision.REQUEST_CHANGES)
        published = draft(session, "conwy")
        decide(session, published, Decision.APPROVE)
        issue(session, published, url="https://example.wales/conwy|x")
    env = {**base_env, "DATABASE_URL": engine.url.render_as_string(hide_password=False)}

    markdown = run(["overview", "--year", "2019-20"], env)
    assert markdown.returncode == 0, markdown.stderr
    lines = markdown.stdout.splitlines()
    assert lines[0].startswith("Letters for 2019-20, all 22 authorities: 1 of 22 issued")
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 22 + 1  # the header and its rule, the authorities, the totals
    assert table[0].startswith("| Local authority | Letter | Since the year ended |")
    assert re.fullmatch(
        r"\| Cardiff Council \| version 1: changes requested \| \d+ days \| 0 \| 0 \| 0 \| 0 "
        r"\| 0 \| 0 \| none to report \|",
        table[-3],
    ), table[-3]
    # A `|` in an address cannot end its cell.
    assert table[-2] == (
        "| Conwy County Borough Council | issued on 1 July 2020, published at "
        "https://example.wales/conwy\\|x | — | 0 | 0 | 0 | 0 | 0 | 0 | none to report |"
    )
    assert table[-1].startswith("| Total | 1 of 22 issued (1 published) | 21 late |")

    written = subprocess.run(
        [*PROGRAM, "overview", "--year", "2019-20", "--format", "csv"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert written.returncode == 0, written.stderr
    rows = list(csv.reader(io.StringIO(written.stdout.decode("utf-8-sig"))))
    assert len(rows) == 24 and rows[0][0] == "Local authority" and rows[-1][0] == "Total"
    assert (rows[-2][0], rows[-2][2]) == ("Conwy County Borough Council", "published")

    refused = run(["overview", "--year", "2019-21"], env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "`2019-21` is not a review year" in refused.stderr
    wrong = run(["overview", "--format", "pdf"], env)
    assert wrong.returncode == 2 and "invalid choice: 'pdf'" in wrong.stderr
