"""Who may still read a calendar feed, as Slack tells it (`handlers.web.feeds.MemberCheck`)."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.web.feeds import MemberCheck, MemberUnknown


def slack_member_check(client: WebClient) -> MemberCheck:
    """Ask Slack (users.info) whether a feed's owner is a full, active member.

    Guests (`is_restricted`, `is_ultra_restricted`), deactivated accounts (`deleted`) and bots
    get no feed: https://api.slack.com/methods/users.info and
    https://api.slack.com/types/user.
    """

    def check(user_id: str) -> bool:
        try:
            user = client.users_info(user=user_id)["user"]
        except SlackApiError as error:
            if error.response.get("error") == "user_not_found":
                return False
            raise MemberUnknown(str(error.response.get("error"))) from error
        except OSError as error:  # Slack unreachable: say "later", never "gone"
            raise MemberUnknown(type(error).__name__) from error
        return not (
            user.get("deleted")
            or user.get("is_restricted")
            or user.get("is_ultra_restricted")
            or user.get("is_bot")
        )

    return check
