"""`reschedule A<id> <when> [| <reason>]` · `postpone A<id> [| <reason>]` · `cancel A<id> [| <reason>]` · `complete A<id>`: move an activity through its life; every change is kept with who, when and why.
Example: `/ciw postpone A12 | COVID-19 restrictions`
"""

from __future__ import annotations

from bot.records import activities, grammar
from db.models import Role
from handlers.commands.base import Command, Reply

NAMES = ["reschedule", "postpone", "cancel", "complete"]
NAME = "reschedule"
ROLE = Role.INSPECTOR


def run(command: Command, action: str) -> Reply:
    """Apply one lifecycle change to one activity."""
    parsed = grammar.parse_lifecycle(command.args, action)
    activity = activities.get_activity(command.session, parsed.activity_id)
    common = {"actor": command.user_id, "now": command.now}
    if action == "reschedule":
        assert parsed.when is not None
        move = activities.reschedule(
            command.session,
            activity,
            parsed.when,
            reason=parsed.reason,
            today=command.today,
            **common,
        )
    elif action == "postpone":
        move = activities.postpone(command.session, activity, reason=parsed.reason, **common)
    elif action == "cancel":
        move = activities.cancel(command.session, activity, reason=parsed.reason, **common)
    else:
        move = activities.complete(command.session, activity, **common)
    return Reply(
        "activity_moved",
        {"move": move, "activity": activity, "line": activities.letter_line(activity)},
    )
