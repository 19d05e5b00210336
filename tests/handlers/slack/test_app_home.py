"""The App Home tab through the real HTTP path (app_home_opened → views.publish)."""

from __future__ import annotations

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
