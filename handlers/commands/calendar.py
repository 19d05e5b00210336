"""`calendar [reset]`: your own calendar feed address, to subscribe to in Outlook, Google or Apple Calendar; `reset` replaces it.
Example: `/ciw calendar`
"""

from __future__ import annotations

from bot.calendar import feeds
from bot.errors import UserError
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "calendar"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """Make the person's feed address, or say they have one; `reset` makes a new one."""
    word = command.args.strip().lower()
    if word not in {"", "reset"}:
        raise UserError("usage", subcommand=NAME)
    public_url = command.runtime.settings.public_url
    if public_url is None:
        return Reply("calendar_unavailable")
    existing = feeds.feed_of(command.session, command.user_id)
    if existing is not None and word != "reset":
        # Only the token's hash is kept, so an address cannot be shown twice.
        return Reply(
            "calendar_exists",
            {"since": existing.created_at.astimezone(command.runtime.settings.tz).date()},
        )
    token = feeds.issue(
        command.session, user_id=command.user_id, platform=command.platform, now=command.now
    )
    return Reply(
        "calendar",
        {
            # Copied as it is shown: written by the bot (the template prints it as code).
            "address": feeds.address(public_url, token),
            "replaced": existing is not None,
        },
    )
