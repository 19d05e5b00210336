"""The App Home tab through the real HTTP path (app_home_opened → views.publish)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from db.models import Authority, Draft, DraftVersion
from tests.bot.reminders.test_planning import office


def home_text(view: dict) -> str:
    return "\n".join(b["text"]["text"] for b in view["blocks"] if b["type"] == "section")


def test_home_shows_my_upcoming_activities_and_drafts_waiting(workspace, runtime, slack):
    workspace.command("log-activity wrexham children 2020-04-20T10:00 performance review meeting")
    workspace.command(
        "log-activity rct adults 2020-05-11 <@U0INSPECT> inspection of CMHT", user="U0OTHER"
    )
    workspace.command("log-activity vale adults 2020-05-12 someone else's meeting", user="U0OTHER")
    workspace.command("log-activity wrexham adults 2019-10-15 already done last year")
    with runtime.transaction() as session:
        wrexham = session.scalar(select(Authority).where(Authority.slug == "wrexham"))
        draft = Draft(
            authority=wrexham,
            review_year=2019,
            channel_id="G0REVIEW",
            thread_ts="1.2",
            created_by="U0OTHER",
            created_at=office("2020-04-01T10:00"),
        )
        session.add_all(
            [draft, DraftVersion(draft=draft, number=1, body="Dear", created_by="U0OTHER")]
        )

    answer = workspace.event(
        {
            "type": "app_home_opened",
            "user": "U0INSPECT",
            "channel": "D0INSPECT",
            "tab": "home",
            "event_ts": "1583143200.000100",
        }
    )
    assert answer.status == 200
    publish = slack.wait_calls("views.publish")[0]
    assert publish.get("user_id") == "U0INSPECT"
    view = publish.get("view")
    assert view["type"] == "home"
    text = home_text(view)
    assert "performance review meeting" in text and "inspection of CMHT" in text
    assert text.index("performance review meeting") < text.index("inspection of CMHT")
    assert "someone else's meeting" not in text
    assert "already done last year" not in text
    assert "Wrexham" in text and "2019-20" in text and "version 1" in text


def test_home_for_someone_with_nothing(workspace, slack):
    workspace.event(
        {
            "type": "app_home_opened",
            "user": "U0NEW",
            "channel": "D0NEW",
            "tab": "messages",
            "event_ts": "1583143200.000100",
        }
    )
    workspace.event(
        {
            "type": "app_home_opened",
            "user": "U0NEW",
            "channel": "D0NEW",
            "tab": "home",
            "event_ts": "1583143200.000200",
        }
    )
    publishes = slack.wait_calls("views.publish")
    text = home_text(publishes[0].get("view"))
    assert "Nothing scheduled for you" in text and "No draft is waiting" in text
    assert len(slack.of("views.publish")) == 1  # the Messages tab is left alone


def test_home_heads_with_the_overview_for_reviewers_and_admins_only(
    workspace, runtime, slack, clock
):
    from db.models import Decision
    from handlers.slack.text import visible
    from tests.bot.review.test_overview import decide, draft, issue
    from tests.handlers.slack.test_letter_life import home_opened

    runtime.settings = dataclasses.replace(runtime.settings, admins=frozenset({"U0ADMIN"}))
    clock.set("2020-08-03T10:00:00")
    with runtime.transaction() as session:
        issued = draft(session, "powys")
        decide(session, issued, Decision.APPROVE)
        issue(session, issued)
    headline = (
        "Letters for 2019-20: 1 of 22 issued, 21 late (125 days since the year ended). "
        "`/ciw overview` shows where each authority's letter stands."
    )
    # Before any role is granted everyone may ask for the overview, so everyone sees it.
    assert workspace.event(home_opened("U0ANYONE")).status == 200
    view = slack.wait_calls("views.publish", 1)[-1].get("view")
    assert headline in visible(home_text(view)).replace("*", "")
    workspace.command("role <@U0INSPECT|ann> inspector", user="U0ADMIN")
    workspace.command("role <@U0REVIEW|bea> reviewer", user="U0ADMIN")
    for user, shown in (("U0ADMIN", True), ("U0REVIEW", True), ("U0INSPECT", False)):
        published = len(slack.of("views.publish"))
        assert workspace.event(home_opened(user)).status == 200
        view = slack.wait_calls("views.publish", published + 1)[-1].get("view")
        text = visible(home_text(view)).replace("*", "")
        assert (headline in text) is shown, user
        assert text.index("Your upcoming activities") > (text.find(headline) if shown else -1)
