"""`role [@user inspector|reviewer|admin|none]`: list who has which role, or grant one (admins only).
Example: `/ciw role @alex reviewer`
"""

from __future__ import annotations

import re

from bot.access import roles
from bot.delivery.messages import extract_mentions
from bot.errors import UserError
from bot.records.grammar import clean
from db.models import Role
from handlers.commands.base import Command, Reply

NAME = "role"
ROLE = Role.INSPECTOR  # seeing the list; granting needs admin (checked in run)

CHOICES = {
    "inspector": Role.INSPECTOR,
    "reviewer": Role.REVIEWER,
    "admin": Role.ADMIN,
    "none": None,
}
# A user id typed as it is: Slack's (`U0ABC…`) or an Entra object id (Teams).
_USER_ID = re.compile(
    r"^(?:[UW][A-Z0-9]{2,}|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})$"
)


def parse_role(text: str) -> tuple[str, Role | None] | None:
    """`` (list) → None; `<@U123> reviewer` → ("U123", Role.REVIEWER); `none` → role None."""
    # Mentions first: cleaning turns a person left in the text into `@name`.
    text, users = extract_mentions(text)
    tokens = clean(text).split()
    if not users and tokens and _USER_ID.match(tokens[0]):
        users, tokens = [tokens[0]], tokens[1:]
    if not users and not tokens:
        return None
    if len(users) != 1 or len(tokens) != 1:
        raise UserError("role_usage", choices=list(CHOICES))
    word = tokens[0].lower()
    if word not in CHOICES:
        raise UserError("role_unknown", value=tokens[0], choices=list(CHOICES))
    return users[0], CHOICES[word]


def run(command: Command) -> Reply:
    """List the roles, or grant one."""
    parsed = parse_role(command.args)
    admins = command.runtime.settings.admins
    if parsed is None:
        return Reply(
            "role_list",
            {
                "grants": roles.grants(command.session),
                "configured": sorted(admins),
                "enforced": roles.enforced(command.session),
            },
        )
    user_id, role = parsed
    roles.check(
        command.session,
        user_id=command.user_id,
        needed=Role.ADMIN,
        subcommand="role",
        admins=admins,
        now=command.now,
        strict=True,
    )
    if user_id in admins and role != Role.ADMIN:
        raise UserError("role_configured_admin", user=user_id)
    old = roles.grant(
        command.session,
        actor=command.user_id,
        user_id=user_id,
        role=role,
        now=command.now,
        configured_admins=admins,
    )
    return Reply(
        "role_granted",
        {"user": user_id, "role": role.value if role else None, "old": old.value if old else None},
    )
