"""The `ciw-bot` command: serve, socket, clock, shell, draft-letter, overview, teams-package,
db upgrade."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from bot.settings import Settings, SettingsError
from db.session import SchemaOutOfDate

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("ciw.cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ciw-bot",
        description="Care Inspectorate Wales inspection coordination bot for Slack and Microsoft Teams.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="serve every configured platform over HTTP on one port: POST /slack/events "
        "(Slack), POST /api/messages (Teams), GET /healthz, GET /calendar/<token>.ics",
    )
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to listen on (default $PORT or 3000)")
    serve.add_argument("--threads", type=int, default=8, help="requests served at once (default 8)")
    serve.add_argument("--with-clock", action="store_true", help="also run the reminder clock")

    socket = commands.add_parser("socket", help="connect to Slack with Socket Mode")
    socket.add_argument("--with-clock", action="store_true", help="also run the reminder clock")

    clock = commands.add_parser("clock", help="run the reminder scheduler")
    clock.add_argument("--once", action="store_true", help="send what is due, then exit")
    clock.add_argument("--now", help="with --once: the moment to run at (ISO-8601, office time)")

    shell = commands.add_parser("shell", help="type /ciw commands in a terminal, without Slack")
    shell.add_argument(
        "--demo", action="store_true", help="load the Wrexham 2019-20 and 2020-21 records"
    )
    shell.add_argument("--user", default="U0SHELL", help="Slack user id you act as")
    shell.add_argument("--channel", default="G0SHELL", help="channel id commands are typed in")

    draft = commands.add_parser("draft-letter", help="assemble a letter without Slack")
    draft.add_argument("authority", help="slug or start of the authority's name, e.g. wrexham")
    draft.add_argument("--year", help="review year, e.g. 2019-20 (default: the last that ended)")
    out = draft.add_mutually_exclusive_group()
    out.add_argument("--out", help="write a Word file (.docx) here")
    out.add_argument("--format", choices=["text", "md"], default="text", help="printed format")
    draft.add_argument(
        "--lang",
        choices=["en", "cy"],
        default="en",
        help="with --out for an issued year: the issued English (default) or Welsh letter",
    )

    overview = commands.add_parser(
        "overview", help="where every authority's letter of a review year stands, without a chat"
    )
    overview.add_argument("--year", help="review year, e.g. 2019-20 (default: the last that ended)")
    overview.add_argument(
        "--format", choices=["md", "csv"], default="md", help="a Markdown table (default) or CSV"
    )

    package = commands.add_parser(
        "teams-package", help="write the Teams app package to upload in Teams admin"
    )
    package.add_argument(
        "--out", default="ciw-teams.zip", help="where to write it (default ciw-teams.zip)"
    )

    database = commands.add_parser("db", help="database maintenance")
    database.add_argument(
        "action", choices=["upgrade"], help="upgrade: migrate to the newest schema"
    )
    return parser


def parse_now(text: str, settings: Settings) -> dt.datetime:
    """An ISO-8601 moment; without a zone it is office time."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SettingsError(
            f"--now {text!r} is not an ISO-8601 time, e.g. 2020-04-09T09:00"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=settings.tz)
    return value.astimezone(dt.UTC)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return _run(args, settings)
    except (SettingsError, SchemaOutOfDate) as error:
        print(f"ciw-bot: {error}", file=sys.stderr)
        return 2
    except OperationalError as error:
        print(f"ciw-bot: cannot reach the database: {error.orig}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`ciw-bot draft-letter … | head`): nothing left to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot import logging_setup

    # The shell's and the letter's output is for people; log lines would drown it.
    quiet = args.command in {"shell", "draft-letter", "overview", "teams-package"}
    logging_setup.configure(logging.WARNING if quiet else logging.INFO)
    if args.command == "db":
        return _db_upgrade(settings)
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "socket":
        settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
        return _socket(args, settings)
    if args.command == "clock":
        return _clock(args, settings)
    if args.command == "shell":
        from bot import adapters

        return adapters.load("handlers.slack.shell").run_shell(
            settings, demo=args.demo, user=args.user, channel=args.channel
        )
    if args.command == "draft-letter":
        return _draft_letter(args, settings)
    if args.command == "overview":
        return _overview(args, settings)
    if args.command == "teams-package":
        settings.require("TEAMS_APP_ID")
        from bot import adapters

        print(f"wrote {adapters.load('handlers.teams.package').write_package(settings, args.out)}")
        return 0
    raise AssertionError(args.command)


def _db_upgrade(settings: Settings) -> int:
    from db.session import current_revision, make_engine, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    print(f"database schema at revision {current_revision(engine)}")
    return 0


def _start_clock(runtime: object) -> None:
    from bot.reminders import clock

    clock.start(runtime, blocking=False)  # type: ignore[arg-type]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot import adapters

    port = args.port or settings.port
    return adapters.load("handlers.serve").serve(
        settings, args.host, port, threads=args.threads, with_clock=args.with_clock
    )


def _socket(args: argparse.Namespace, settings: Settings) -> int:
    from bot import adapters

    adapters.load("handlers.slack.socket").run(settings, with_clock=args.with_clock)
    return 0


def _clock(args: argparse.Namespace, settings: Settings) -> int:
    from bot import adapters
    from bot.reminders import clock
    from bot.runtime import build_runtime

    adapters.require_configured(settings)  # before the database is touched
    if args.now and not args.once:
        raise SettingsError("--now goes with --once")
    runtime = build_runtime(settings)
    try:
        # The platforms' senders own threads and HTTP clients: closed on the way out.
        adapters.attach_configured(runtime)
        if args.once:
            now = parse_now(args.now, settings) if args.now else None
            print(clock.run_once(runtime, now))
        else:
            clock.start(runtime, blocking=True)
    finally:
        runtime.shutdown()
    return 0


def _draft_letter(args: argparse.Namespace, settings: Settings) -> int:
    from bot.errors import UserError
    from bot.letters.export import export_letter
    from bot.runtime import build_runtime

    runtime = build_runtime(settings)
    try:
        issued = _issued_letter(runtime, args) if args.out else None
        if issued is not None:
            print(issued)
        elif args.lang == "cy":
            raise UserError("export_welsh_not_issued")
        else:
            print(export_letter(runtime, args.authority, args.year, args.out, args.format))
    except UserError as error:
        message = runtime.templates.message(f"errors/{error.template}", **error.data)
        print(f"ciw-bot: {message}", file=sys.stderr)
        return 2
    return 0


def _overview(args: argparse.Namespace, settings: Settings) -> int:
    """Print the overview of a review year: a Markdown table, or the CSV file's bytes."""
    from bot.errors import UserError
    from bot.records.dates import ReviewYear, parse_year
    from bot.review import overview, overview_file
    from bot.runtime import build_runtime

    runtime = build_runtime(settings)
    try:
        year = parse_year(args.year) if args.year else ReviewYear.last_ended(runtime.today())
    except UserError as error:
        message = runtime.templates.message(f"errors/{error.template}", **error.data)
        print(f"ciw-bot: {message}", file=sys.stderr)
        return 2
    with runtime.transaction() as session:
        found = overview.overview(
            session, year, today=runtime.today(), required=settings.required_approvals
        )
        if args.format == "csv":
            sys.stdout.flush()
            sys.stdout.buffer.write(overview_file.csv_bytes(runtime, found))
            sys.stdout.buffer.flush()
        else:
            print(runtime.templates.message("overview_table", overview=found))
    return 0


def _issued_letter(runtime: Runtime, args: argparse.Namespace) -> str | None:
    """For an issued year, write the issued file of `--lang` to `--out`, exactly as it was
    issued, and say so; None when the year's letter was never issued."""
    from pathlib import Path

    from bot.errors import UserError
    from bot.records import authorities
    from bot.records.dates import ReviewYear, letter_date, parse_year
    from bot.review import issuing

    with runtime.transaction() as session:
        authority = authorities.resolve(session, args.authority)
        year = parse_year(args.year) if args.year else ReviewYear.last_ended(runtime.today())
        issue = issuing.latest_issue(session, authority.id, year)
        if issue is None:
            return None
        file = next((f for f in issue.files if f.language == args.lang), None)
        if file is None:
            raise UserError("export_no_welsh_file", council=authority.english_name, year=year)
        Path(args.out).write_bytes(file.content)
        return runtime.templates.letter(
            "export_issued_written",
            year=year,
            council=authority.english_name,
            path=args.out,
            name=file.name,
            on=letter_date(issue.issued_on),
            welsh=file.language == "cy",
        ).strip()


if __name__ == "__main__":
    sys.exit(main())
