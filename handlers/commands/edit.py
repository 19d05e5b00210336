"""`edit F<id> <text>`: correct a finding's text; the old text stays in the history.
Example: `/ciw edit F7 The CMHT inspection identified delays from referral to assessment.`
"""

from __future__ import annotations

from bot import findings, grammar
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "edit"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """Replace a finding's text."""
    finding_id, text = grammar.parse_edit(command.args)
    finding = findings.get_finding(command.session, finding_id)
    old = findings.edit(command.session, finding, text, actor=command.user_id, now=command.now)
    return Reply("finding_edited", {"finding": finding, "old": old})
