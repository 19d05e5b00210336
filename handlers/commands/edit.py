"""`edit F<id>|N<id>|P<id> <text>`: correct a finding's, a note's or a progress paragraph's text. `edit A<id> title <text>`, `edit A<id> details <text>` (`details -` clears them), `edit A<id> service children|adults|both`, `edit A<id> dates <when>`: correct an activity (its status stays; `reschedule` moves a planned one). The old value stays in the history.
Example: `/ciw edit A12 dates 2019-09-24..2019-09-25`
"""

from __future__ import annotations

from bot.records import activities, findings, grammar, notes, progress
from bot.records.dates import ReviewYear
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "edit"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """Replace a finding's, note's or progress's text, or one field of an activity."""
    edit = grammar.parse_edit(command.args)
    session, actor, now = command.session, command.user_id, command.now
    if edit.kind == "F":
        finding = findings.get_finding(session, edit.record_id)
        old = findings.edit(session, finding, str(edit.value), actor=actor, now=now)
        return Reply("finding_edited", {"finding": finding, "old": old})
    if edit.kind == "N":
        note = notes.get_note(session, edit.record_id)
        old = notes.edit(session, note, str(edit.value), actor=actor, now=now)
        return Reply("note_edited", {"note": note, "old": old})
    if edit.kind == "P":
        answer = progress.get_progress(session, edit.record_id)
        old = progress.edit(session, answer, str(edit.value), actor=actor, now=now)
        year = ReviewYear(answer.review_year)
        return Reply("progress_edited", {"progress": answer, "old": old, "year": year})
    activity = activities.get_activity(session, edit.record_id)
    old = activities.edit_activity(session, activity, edit.field, edit.value, actor=actor, now=now)
    return Reply(
        "activity_edited",
        {
            "activity": activity,
            "field": edit.field,
            "old": old,
            "line": activities.letter_line(activity),
        },
    )
