"""`list <authority> [<year>] [page <n>]`: the year's records with their ids, status and history (year defaults to the current review year), a page at a time (each with a Next page button). The records: activities, findings, notes, progress, and last year's areas for improvement with the progress recorded on each.
Example: `/ciw list wrexham 2019-20`, then `/ciw list wrexham 2019-20 page 2`
"""

from __future__ import annotations

from bot.records import activities, authorities, findings, grammar, history, notes, progress
from bot.records.dates import ReviewYear
from bot.review import drafts
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "list"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """List one authority's records of one review year."""
    args, page = grammar.split_page(command.args)
    typed, year = grammar.parse_authority_and_year(args, NAME)
    authority = authorities.resolve(command.session, typed)
    year = year or ReviewYear.of(command.today)
    acts = activities.for_year(command.session, authority, year)
    finds = findings.for_year(command.session, authority, year)
    kept = notes.for_year(command.session, authority, year)
    answers = progress.for_year(command.session, authority, year)
    return Reply(
        page=page,
        command=f"/ciw list {authority.slug} {year.label}",
        template="list",
        data={
            "authority": authority,
            "year": year,
            "activities": acts,
            "findings": finds,
            "history": history.for_subjects(command.session, "activity", [a.id for a in acts]),
            "finding_history": history.for_subjects(
                command.session, "finding", [f.id for f in finds]
            ),
            "notes": kept,
            "note_history": history.for_subjects(command.session, "note", [n.id for n in kept]),
            "progress": answers,
            "progress_history": history.for_subjects(
                command.session, "progress", [p.id for p in answers]
            ),
            # Last year's areas for improvement, each with the progress recorded on it this year.
            "last_year": year.previous(),
            "last_improvements": progress.improvements(command.session, authority, year.previous()),
            "answered": progress.by_finding(answers),
            "tz": command.runtime.settings.tz,
            "letter_line": activities.letter_line,
            "drafts": drafts.summaries(
                command.session, authority, year, command.runtime.settings.required_approvals
            ),
        },
    )
