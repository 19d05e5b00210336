"""`remove A<id>|F<id>`: take a record out of lists and letters; the history keeps it.
Example: `/ciw remove F7`
"""

from __future__ import annotations

from bot import activities, findings, grammar
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "remove"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """Remove one activity or finding."""
    kind, number = grammar.parse_remove(command.args)
    if kind == "A":
        activity = activities.get_activity(command.session, number)
        activities.remove(command.session, activity, actor=command.user_id, now=command.now)
    else:
        finding = findings.get_finding(command.session, number)
        findings.remove(command.session, finding, actor=command.user_id, now=command.now)
    return Reply("removed", {"ref": f"{kind}{number}"})
