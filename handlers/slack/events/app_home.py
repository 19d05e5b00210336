"""The App Home tab: each inspector's upcoming activities, the drafts waiting for review,
and where the approved letters stand (ready to issue, awaiting Welsh, issued, published);
for those who may ask for `/ciw overview` (reviewers and admins), its headline first: of
the last review year that has ended, how many of the 22 letters are issued and how many
are late."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.access import roles
from bot.records.dates import ReviewYear
from bot.reminders import planning
from bot.review import issuing, overview
from bot.runtime import Runtime
from handlers.commands import overview as overview_command
from handlers.slack import text as slack_text
from handlers.slack.reminder_blocks import sections

MAX_BLOCKS = 100  # Slack's limit for a Home tab view
HOME_ITEMS = 20  # of each kind; the total says how many more `/ciw upcoming` lists


def register(app: App) -> None:
    """Publish the Home tab whenever someone opens it."""
    app.event("app_home_opened")(on_home_opened)


def home_view(runtime: Runtime, user_id: str) -> dict[str, Any]:
    """The Home tab view of one user (upcoming activities they inspect, drafts waiting)."""
    with runtime.transaction() as session:
        # Once roles are enforced, someone with no role sees no records (SPEC: roles).
        shown = not roles.enforced(session) or (
            roles.role_of(session, user_id, runtime.settings.admins) is not None
        )
        today = runtime.today()
        lead = roles.allows(
            roles.role_of(session, user_id, runtime.settings.admins), overview_command.ROLE
        ) or not roles.enforced(session)
        headline = (
            overview.overview(
                session,
                ReviewYear.last_ended(today),
                today=today,
                required=runtime.settings.required_approvals,
            )
            if lead
            else None
        )
        text = slack_text.templates(runtime).message(
            "home",
            overview=headline,
            activities=(
                planning.upcoming_for(session, user_id, today, limit=HOME_ITEMS) if shown else []
            ),
            total=planning.count_upcoming_for(session, user_id, today) if shown else 0,
            drafts=planning.drafts_waiting(session, user_id, limit=HOME_ITEMS) if shown else [],
            letters=issuing.past_review(session, limit=HOME_ITEMS) if shown else [],
        )
    blocks = sections(text)[:MAX_BLOCKS]
    return {"type": "home", "blocks": blocks}


def on_home_opened(event: dict[str, Any], client: WebClient, context: Any) -> None:
    """views.publish the user's Home tab (the Messages tab is left alone)."""
    if event.get("tab", "home") != "home":
        return
    runtime: Runtime = context["ciw"]
    user_id = event["user"]
    client.views_publish(user_id=user_id, view=home_view(runtime, user_id))
