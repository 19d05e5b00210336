"""`overview [<year>] [csv] [page <n>]`: every authority's letter of the year at a glance. For reviewers and admins: one line each of the 22, what needs attention first: the letter (no draft, version N in review, changes requested, approved, awaiting Welsh, issued on a date, published) and how long since the year ended when it is not issued; the year's activities by status, its strengths and improvements, and the progress recorded on the previous year's areas for improvement. Totals last, a page at a time; with `csv`, the same as a CSV file sent to you. The year defaults to the last review year that has ended.
Example: `/ciw overview 2019-20 csv`
"""

from __future__ import annotations

from bot.records import grammar
from bot.records.dates import ReviewYear
from bot.review import overview, overview_file
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "overview"
ROLE = Role.REVIEWER


def run(command: Command) -> Reply:
    """The overview of one review year, or its CSV file sent to the person who asked."""
    args, page = grammar.split_page(command.args)
    asked = grammar.parse_overview(args)
    year = asked.year or ReviewYear.last_ended(command.today)
    if asked.csv:
        overview_file.send(
            command.session,
            platform=command.platform,
            user_id=command.user_id,
            year=year,
            now=command.now,
        )
        return Reply("overview_csv_sent", {"year": year, "platform": command.platform})
    found = overview.overview(
        command.session,
        year,
        today=command.today,
        required=command.runtime.settings.required_approvals,
    )
    return Reply("overview", {"overview": found}, page, f"/ciw overview {year.label}")
