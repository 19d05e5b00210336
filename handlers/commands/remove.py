"""`remove A<id>|F<id>|N<id>`: take an activity, finding or note out of lists and letters; the history keeps it.
Example: `/ciw remove F7`
"""

from __future__ import annotations

from bot.records import activities, findings, grammar, notes
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "remove"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """Remove one activity, finding or note."""
    kind, number = grammar.parse_remove(command.args)
    session, actor, now = command.session, command.user_id, command.now
    if kind == "A":
        activities.remove(session, activities.get_activity(session, number), actor=actor, now=now)
    elif kind == "F":
        findings.remove(session, findings.get_finding(session, number), actor=actor, now=now)
    else:
        notes.remove(session, notes.get_note(session, number), actor=actor, now=now)
    return Reply("removed", {"ref": f"{kind}{number}"})
