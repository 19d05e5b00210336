"""`remove A<id>|F<id>|N<id>|P<id>`: take an activity, finding, note or progress out of lists and letters; the history keeps it.
Example: `/ciw remove F7`
"""

from __future__ import annotations

from bot.records import activities, findings, grammar, notes, progress
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "remove"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """Remove one activity, finding, note or progress paragraph."""
    kind, number = grammar.parse_remove(command.args)
    session, actor, now = command.session, command.user_id, command.now
    if kind == "A":
        activities.remove(session, activities.get_activity(session, number), actor=actor, now=now)
    elif kind == "F":
        findings.remove(session, findings.get_finding(session, number), actor=actor, now=now)
    elif kind == "N":
        notes.remove(session, notes.get_note(session, number), actor=actor, now=now)
    else:
        progress.remove(session, progress.get_progress(session, number), actor=actor, now=now)
    return Reply("removed", {"ref": f"{kind}{number}"})
