"""Who may still read a calendar feed, as Teams last told it (`handlers.web.feeds.MemberCheck`).

A calendar app fetches a feed with no Teams activity to validate, so the answer comes from
what the Bot Connector said of the person when they last spoke to the bot
(`TeamsMember`, refreshed on every activity): a member of this tenant who is neither a
guest nor anonymous. Someone the bot has never seen gets no feed.
"""

from __future__ import annotations

from bot.runtime import Runtime
from db.models import TeamsMember
from handlers.web.feeds import MemberCheck

FULL_MEMBER = "user"


def teams_member_check(runtime: Runtime) -> MemberCheck:
    """A check reading the stored member row of a feed's owner (an Entra object id)."""
    tenant = runtime.settings.teams_tenant_id

    def check(user_id: str) -> bool:
        with runtime.transaction() as session:
            member = session.get(TeamsMember, user_id)
            return (
                member is not None
                and member.tenant_id == tenant
                and (member.user_role or FULL_MEMBER) == FULL_MEMBER
            )

    return check
