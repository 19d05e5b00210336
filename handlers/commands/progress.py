"""`progress F<id> [<year>] <text>`: record progress on an earlier year's area for improvement. `year` is the review year the progress belongs to (default: the current one): its letter prints the paragraph under "Progress on areas for improvement", under the improvement's principle. `edit P<id> <text>` and `remove P<id>` correct it; `list <authority> <year>` shows last year's areas for improvement and which have progress.
Example: `/ciw progress F7 2020-21 Assessments now start within four weeks.`
"""

from __future__ import annotations

from bot.records import findings, grammar, progress
from bot.records.dates import ReviewYear
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "progress"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """Record progress on one area for improvement, for the year it belongs to."""
    parsed = grammar.parse_progress(command.args)
    finding = findings.get_finding(command.session, parsed.finding_id)
    year = parsed.year or ReviewYear.of(command.today)
    recorded = progress.record(
        command.session,
        finding=finding,
        year=year,
        text=parsed.text,
        actor=command.user_id,
        now=command.now,
    )
    return Reply(
        "progress_recorded",
        {
            "progress": recorded,
            "finding": finding,
            "year": year,
            "finding_year": ReviewYear(finding.review_year),
        },
    )
