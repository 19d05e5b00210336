"""`/ciw` in Teams, through the real HTTP path: messages in the personal chat and with an
@mention in a channel, run through the same subcommands as Slack's, answered privately."""

from __future__ import annotations

import dataclasses
import time

import pytest
from sqlalchemy import func, select

from db.models import (
    Activity,
    ActivityStatus,
    CalendarFeed,
    Delivery,
    Draft,
    Finding,
    HistoryEntry,
    IdempotencyKey,
    Note,
    RoleGrant,
    TeamsConversation,
    TeamsMember,
)
from tests.conftest import burst
from tests.handlers.teams.test_cards import problems
from tests.handlers.teams.world import CHANNEL, actions_of, card_of, text_of


def rows(org, model, *where):
    with org.runtime.transaction() as session:
        found = list(
            session.scalars(select(model).where(*where).order_by(*model.__table__.primary_key))
        )
        session.expunge_all()
        return found


def count(org, model) -> int:
    with org.runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_help_in_the_personal_chat_also_with_the_ciw_prefix(org):
    org.say("help", "ann")
    assert "log-activity" in org.last("ann")
    org.say("/ciw help postpone", "ann")
    assert "postpone A<id>" in org.last("ann")
    org.say("CIW help", "ann")
    assert "log-finding" in org.last("ann")
    # The personal chat's reference is kept, with its user's Entra object id.
    chat = rows(org, TeamsConversation, TeamsConversation.id == org["ann"].chat)[0]
    assert chat.conversation_type == "personal"
    assert chat.user_id == org["ann"].aad
    assert chat.service_url == org.cloud.service_url
    assert chat.bot_id == org.bot_id
    assert chat.tenant_id == org.cloud.tenant_id
    # The sender was looked up once and remembered: their role and ids.
    member = rows(org, TeamsMember, TeamsMember.user_id == org["ann"].aad)[0]
    assert (member.teams_id, member.user_role) == (org["ann"].id, "user")
    lookups = [c for c in org.cloud.calls if "/members/" in c.path]
    assert len(lookups) == 1


def test_an_unknown_subcommand_is_answered_with_the_ones_there_are(org):
    org.say("frobnicate", "ann")
    assert "frobnicate" in org.last("ann")
    assert "log-activity" in org.last("ann")


def test_log_activity_in_the_personal_chat_records_it_with_no_channel(org):
    org.say("log-activity wrexham adults 2020-04-20T10:00 annual performance review", "ann")
    assert "Recorded A1" in org.last("ann")
    activity = rows(org, Activity)[0]
    assert activity.platform == "teams"
    assert activity.channel_id is None  # reminders go to the people only
    assert activity.inspector_ids == [org["ann"].aad]
    assert activity.logged_by == org["ann"].aad
    assert activity.status is ActivityStatus.SCHEDULED
    # Its reminders are for Ann's personal chat, by her Entra object id.
    reminders = rows(org, Delivery, Delivery.activity_id == activity.id)
    assert reminders and {d.channel for d in reminders} == {org["ann"].aad}
    assert {d.platform for d in reminders} == {"teams"}


def test_every_subcommand_in_the_personal_chat(org):
    say = org.say
    say("log-activity wrexham adults 2020-04-20T10:00 annual performance review")
    say("log-activity wrexham children 2019-09-24..2019-09-25 focused activity | to review files")
    assert "Recorded A2" in org.last("ann") and "completed" in org.last("ann")
    say("log-finding wrexham 2019-20 prevention improvement adults Delays in responding.")
    assert "Recorded F1" in org.last("ann")
    say("note wrexham 2019-20 intro The COVID-19 pandemic changed our plans.")
    assert "Recorded note N1" in org.last("ann")
    say("list wrexham 2019-20")
    listing = org.last("ann")
    assert "A2" in listing and "F1" in listing and "N1" in listing
    say("upcoming 60")
    assert "annual performance review" in org.last("ann")
    say("postpone A1 | COVID-19 restrictions")
    assert "postponed" in org.last("ann")
    say("reschedule A1 2020-05-11 | new date agreed")
    assert "rescheduled" in org.last("ann")
    say("complete A2")
    assert "A2" in org.last("ann")
    say("log-activity cardiff both 2020-06-01 conference")
    say("cancel A3 | no longer needed")
    assert "cancelled" in org.last("ann")
    say("edit F1 Delays in responding to people.")
    assert "F1" in org.last("ann")
    assert rows(org, Finding)[0].text == "Delays in responding to people."
    say("edit A1 title annual performance review meeting")
    assert "A1" in org.last("ann")
    say("remove N1")
    assert "N1" in org.last("ann") and "removed" in org.last("ann")
    assert rows(org, Note)[0].removed_at is not None
    say("authority wrexham director Ian Bancroft")
    say("authority wrexham")
    assert "Ian Bancroft" in org.last("ann")
    say("calendar")
    assert "PUBLIC_URL" in org.last("ann") or "calendar" in org.last("ann").lower()
    say("role")
    assert "role" in org.last("ann").lower()
    say("draft-letter wrexham 2019-20")
    assert "channel of a team" in org.last("ann")
    assert rows(org, Draft) == []
    statuses = {a.id: a.status for a in rows(org, Activity)}
    assert statuses == {
        1: ActivityStatus.SCHEDULED,
        2: ActivityStatus.COMPLETED,
        3: ActivityStatus.CANCELLED,
    }
    # Every change is kept with who made it: the person's Entra object id.
    actors = {h.actor for h in rows(org, HistoryEntry)}
    assert actors == {org["ann"].aad}


def test_bad_input_records_nothing_and_says_what_was_wrong(org):
    org.say("log-activity wrexham adults 2019-02-30 impossible")
    assert "2019-02-30" in org.last("ann")
    org.say("log-activity nowhere adults 2020-04-20 a meeting")
    assert "nowhere" in org.last("ann")
    org.say("log-finding wrexham 2019-21 people strength x")
    assert "2019-21" in org.last("ann")
    assert count(org, Activity) == 0 and count(org, Finding) == 0


def test_calendar_gives_the_persons_own_feed(org):
    org.runtime.settings = dataclasses.replace(
        org.runtime.settings, public_url="https://ciw.example.org"
    )
    org.say("calendar", "ann")
    assert "https://ciw.example.org/calendar/" in org.last("ann")
    feed = rows(org, CalendarFeed)[0]
    assert (feed.user_id, feed.platform) == (org["ann"].aad, "teams")


def test_a_command_with_an_at_mention_in_a_channel_is_answered_in_the_personal_chat(org):
    alex = org["alex"]
    answer = org.say(
        f"log-activity wrexham adults 2020-04-20 inspection with {alex.at} | with HIW",
        "ann",
        channel=CHANNEL,
        mentions=(alex,),
    )
    assert answer.status_code == 200
    activity = rows(org, Activity)[0]
    # Alex, mentioned, is an inspector by his Entra object id; the channel is the one typed in.
    assert activity.inspector_ids == sorted([org["ann"].aad, alex.aad])
    assert activity.channel_id == CHANNEL
    assert activity.title == "inspection with"
    assert activity.details == "with HIW"
    # The answer is in Ann's personal chat (created for her), the thread only says where.
    assert "Recorded A1" in org.last("ann")
    root = org.cloud.conversations[CHANNEL].activities
    post = next(a for a in root.values() if "log-activity" in (a.get("text") or ""))
    thread = org.in_thread(CHANNEL, post["id"])
    assert thread == ["I have answered you in your personal chat with the CIW bot."]
    assert "Recorded" not in " ".join(thread)
    # The channel's reference and Ann's new personal chat are both kept.
    channel = rows(org, TeamsConversation, TeamsConversation.id == CHANNEL)[0]
    assert channel.conversation_type == "channel"
    assert channel.team_id == "19:inspections-general@thread.tacv2"
    chat = rows(org, TeamsConversation, TeamsConversation.user_id == org["ann"].aad)[0]
    assert chat.id == org["ann"].chat and chat.conversation_type == "personal"
    # Reminders go to both inspectors and to the channel.
    recipients = {d.channel for d in rows(org, Delivery, Delivery.activity_id == activity.id)}
    assert recipients == {org["ann"].aad, alex.aad, CHANNEL}


def test_a_channel_message_that_does_not_mention_the_bot_is_no_command(org):
    org.say(
        "log-activity wrexham adults 2020-04-20 chatter", "ann", channel=CHANNEL, mention_bot=False
    )
    assert count(org, Activity) == 0
    assert org.posted(CHANNEL) == []


def test_role_granted_with_an_at_mention_uses_the_entra_object_id(org):
    alex = org["alex"]
    org.say(f"role {alex.at} reviewer", "ann", channel=CHANNEL, mentions=(alex,))
    grant = rows(org, RoleGrant)[0]
    assert (grant.user_id, grant.role.value, grant.granted_by) == (
        alex.aad,
        "reviewer",
        org["ann"].aad,
    )
    # Roles are enforced now: Ann, with none, may no longer list them; Alex may.
    org.say("role", "ann")
    assert "no role yet" in org.last("ann")
    org.say("role", "alex")
    assert "Alex Jones: reviewer (granted by Ann Inspector" in org.last("alex")


def test_ciw_admins_are_entra_object_ids(org):
    # Once roles are enforced only admins grant them: Ann, named in CIW_ADMINS by her
    # Entra object id, may; Bea may not.
    org.runtime.settings = dataclasses.replace(
        org.runtime.settings, admins=frozenset({org["ann"].aad})
    )
    alex = org["alex"]
    org.say(f"role {alex.at} inspector", "ann", channel=CHANNEL, mentions=(alex,))
    org.say(f"role {alex.at} admin", "bea", channel=CHANNEL, mentions=(alex,))
    assert [g.role.value for g in rows(org, RoleGrant)] == ["inspector"]
    assert "admin" in org.last("bea").lower()


def test_draft_letter_in_a_channel_is_queued_for_that_channel(org):
    org.say("log-activity wrexham children 2019-09-24 focused activity")
    org.say("draft-letter wrexham 2019-20", "ann", channel=CHANNEL)
    draft = rows(org, Draft)[0]
    assert (draft.channel_id, draft.platform) == (CHANNEL, "teams")
    parts = rows(org, Delivery, Delivery.draft_id == draft.id)
    assert parts and {p.platform for p in parts} == {"teams"}
    assert {p.channel for p in parts} == {CHANNEL}
    assert "version 1" in org.last("ann").lower()


def test_drafts_are_refused_in_group_chats_and_shared_channels(org):
    org.say("draft-letter wrexham 2019-20", "ann", group=True)
    assert "group chats" in org.last("ann")
    shared = org.message("draft-letter wrexham 2019-20", org["ann"], channel=CHANNEL)
    shared["channelData"]["channel"]["type"] = "shared"
    assert org.post(shared).status_code == 200
    org.settle()
    assert "shared channel" in org.last("ann")
    assert rows(org, Draft) == []


def test_long_listings_come_a_page_at_a_time_with_a_next_page_button(org):
    for day in range(1, 29):
        org.say(
            f"log-activity wrexham adults 2020-02-{day:02d} focused activity {day} " + "x" * 150
        )
    org.say("list wrexham 2019-20")
    page = org.replies(org["ann"].chat)[-1]
    assert "Page 1 of" in text_of(page)
    assert problems(card_of(page)) == []
    button = actions_of(card_of(page))[-1]
    assert button["type"] == "Action.Execute" and button["verb"] == "listing_next_page"
    assert button["data"]["value"] == "list wrexham 2019-20 page 2"
    answer = org.click(button["verb"], button["data"], org["ann"])
    assert answer.status_code == 200
    assert answer.json()["type"] == "application/vnd.microsoft.card.adaptive"
    assert problems(answer.json()["value"]) == []
    org.settle()
    assert "Page 2 of" in org.last("ann")
    # Typed, the same page.
    org.say("list wrexham 2019-20 page 2")
    assert "Page 2 of" in org.last("ann")


def test_a_repeated_activity_does_nothing_twice(org):
    activity = org.message("log-activity wrexham adults 2020-04-20 once only", org["ann"])
    assert org.post(activity).status_code == 200
    assert org.post(activity).status_code == 200
    org.settle()
    assert count(org, Activity) == 1
    assert len([t for t in org.chat("ann") if "Recorded" in t]) == 1
    # Another process (this one's memory forgotten) finds it in the database.
    org.app._ciw_recent = None
    assert org.post(activity).status_code == 200
    org.settle()
    assert count(org, Activity) == 1
    assert len([t for t in org.chat("ann") if "Recorded" in t]) == 1
    assert count(org, IdempotencyKey) == 1


def test_the_bot_connector_is_answered_before_the_command_has_run(org, monkeypatch):
    import threading
    import time

    import handlers.commands

    real = handlers.commands.execute
    release = threading.Event()

    def slow(*args, **kwargs):
        release.wait(10)  # the command runs only once the test has had the answer
        return real(*args, **kwargs)

    monkeypatch.setattr(handlers.commands, "execute", slow)
    started = time.monotonic()
    answer = org.post(org.message("log-activity wrexham adults 2020-04-20 slow one", org["ann"]))
    assert answer.status_code == 200
    assert time.monotonic() - started < 1.0  # the answer did not wait for the work
    assert count(org, Activity) == 0
    release.set()
    org.settle()
    assert count(org, Activity) == 1
    assert "Recorded A1" in org.last("ann")


@pytest.mark.pauses
def test_answers_wait_while_requests_keep_coming(org):
    # Acknowledgements first (`bot.answering`): the Bot Connector gets its 200 at once;
    # the command runs and is answered in the first pause in the requests.
    with burst(org.runtime.answering):  # other requests, coming without a pause
        answer = org.post(org.message("help", org["ann"]))
        assert answer.status_code == 200
        time.sleep(0.5)
        assert org.chat("ann") == []
    org.settle()
    assert "log-activity" in org.last("ann")


def test_many_commands_at_once_are_each_answered_once(org):
    # A burst: every activity answered at once, the work after them taken a few at a time
    # from one queue on the sender's loop (`handlers.teams.connector`).
    names = ["log-activity", "log-finding", "list", "postpone", "calendar", "roles"]
    for person in ("ann", "bea"):
        for name in names:
            assert org.post(org.message(f"help {name}", org[person])).status_code == 200
    org.settle()
    for person in ("ann", "bea"):
        said = org.chat(person)
        assert len(said) == len(names)
        # Each subcommand's help once: the first line of each names its subcommand.
        assert sorted(next(n for n in names if n in s.splitlines()[0]) for s in said) == sorted(
            names
        )


def test_a_burst_from_a_channel_opens_each_personal_chat_once(org):
    # Several commands at once from people the bot has no personal chat with yet: each
    # answered privately, each chat created (Teams gives the same one) and kept once.
    for person in ("ann", "bea"):
        for name in ("log-activity", "list", "roles"):
            mention = org.message(f"help {name}", org[person], channel=CHANNEL)
            assert org.post(mention).status_code == 200
    org.settle()
    for person in ("ann", "bea"):
        assert len(org.chat(person)) == 3
        chats = rows(
            org,
            TeamsConversation,
            TeamsConversation.user_id == org[person].aad,
            TeamsConversation.conversation_type == "personal",
        )
        assert len(chats) == 1
