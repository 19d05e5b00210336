"""`publish <authority> [<year>] <https address>`: record where the issued letter is published on CIW's website. The year defaults to the last review year that has ended; a new address replaces the old, which the history keeps.
Example: `/ciw publish wrexham 2019-20 https://www.careinspectorate.wales/wrexham-performance-review-2019-20`
"""

from __future__ import annotations

from bot.records import authorities, grammar
from bot.records.dates import ReviewYear, letter_date
from bot.review import issuing
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "publish"
ROLE = Role.REVIEWER


def run(command: Command) -> Reply:
    """Record the address the issued letter is published at."""
    parsed = grammar.parse_publish(command.args)
    url = issuing.check_url(parsed.url)
    authority = authorities.resolve(command.session, parsed.authority)
    year = parsed.year or ReviewYear.last_ended(command.today)
    outcome = issuing.publish(
        command.runtime,
        command.session,
        authority=authority,
        year=year,
        url=url,
        actor=command.user_id,
    )
    return Reply(
        "letter_published",
        {
            "council": authority.english_name,
            "year": year,
            "url": url,
            "before": outcome.before,
            "changed": outcome.changed,
            "on": letter_date(outcome.issue.issued_on),
        },
    )
