"""`authority <authority> [director <name> | address <line; line; …> | language en|cy|both]`: show or set what the letter is addressed with.
Example: `/ciw authority wrexham address The Guildhall; Wrexham; LL11 1AY`
"""

from __future__ import annotations

from bot.records import authorities, grammar, history
from db.models import Authority, Language, Role
from handlers.commands.base import Command, Reply

NAME = "authority"
ROLE = Role.INSPECTOR


def run(command: Command) -> Reply:
    """Show an authority's letter details, or change one of them."""
    change = grammar.parse_authority(command.args)
    authority = authorities.resolve(command.session, change.authority)
    if change.field is None:
        return _reply(command, authority, None)
    old = getattr(authority, change.field)
    value = Language(change.value) if change.field == "language" else change.value
    setattr(authority, change.field, value)
    history.record(
        command.session,
        actor=command.user_id,
        subject="authority",
        subject_id=authority.slug,
        action=f"set {change.field}",
        at=command.now,
        changes={"old": str(old) if old is not None else None, "new": change.value},
    )
    command.session.flush()
    return _reply(command, authority, change.field)


def _reply(command: Command, authority: Authority, changed: str | None) -> Reply:
    """The authority's letter details and the history of their changes, oldest first."""
    changes = history.for_subjects(command.session, "authority", [authority.slug])
    return Reply(
        "authority",
        {
            "authority": authority,
            "changed": changed,
            "history": changes.get(authority.slug, []),
            "tz": command.runtime.settings.tz,
        },
    )
