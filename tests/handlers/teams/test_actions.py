"""Buttons on the bot's cards in Teams (`Action.Execute`, invoke `adaptiveCard/action`):
the draft review card's Approve / Request changes / New version, the reminder's Done /
Snooze / List, the Welsh review's. Each decision is recorded once, with the role checks
Slack's buttons make, and answered to the clicker only."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from db.models import (
    Activity,
    ActivityStatus,
    Decision,
    Delivery,
    DraftVersion,
    HistoryEntry,
    Review,
    WelshReview,
)
from tests.handlers.teams.test_cards import problems
from tests.handlers.teams.world import CHANNEL, TEAM, posted_draft, text_of, welsh_upload

MESSAGE = "application/vnd.microsoft.activity.message"
CARD = "application/vnd.microsoft.card.adaptive"


def count(org, model, *where) -> int:
    with org.runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def draft(org):
    return posted_draft(org)


def click(org, verb, data, who="bea", *, draft=None):
    answer = org.click(verb, data, org[who], conversation=draft["conversation"] if draft else None)
    assert answer.status_code == 200, answer.text
    org.settle()
    return answer.json()


def buttons(draft) -> dict[str, dict]:
    """The review card's buttons as the sender posted them: Approve, the Request changes
    box's Send (inside its ShowCard), New version."""
    approve, request, new = draft["card"]["actions"]
    assert request["type"] == "Action.ShowCard"
    (send,) = request["card"]["actions"]
    box = next(e for e in request["card"]["body"] if e.get("id") == "reason")
    assert box["isRequired"] is True
    return {"approve": approve, "send": send, "new": new}


def card_words(answer: dict) -> str:
    assert answer["type"] == CARD, answer
    assert problems(answer["value"]) == []
    return text_of({"attachments": [{"contentType": CARD, "content": answer["value"]}]})


def test_approve_records_the_reviewers_approval_once(org, draft):
    approve = buttons(draft)["approve"]
    assert (approve["verb"], approve["data"]["value"]) == ("draft_approve", str(draft["version"]))
    answer = click(org, approve["verb"], approve["data"], draft=draft)
    # The clicker sees the card as it now stands.
    words = card_words(answer)
    assert "Status: Approved" in words and "approvals 1 of 1 (Bea Reviewer)" in words
    # A double click: refused privately, nothing more recorded.
    again = click(org, approve["verb"], approve["data"], draft=draft)
    assert again["type"] == MESSAGE and "already approved" in again["value"]
    with org.runtime.transaction() as session:
        reviews = session.scalars(select(Review)).all()
        assert [(r.user_id, r.decision) for r in reviews] == [(org["bea"].aad, Decision.APPROVE)]
        version = session.get(DraftVersion, draft["version"])
        assert version.approved_at is not None
    # Everyone's card was updated in place by the sender, and the decision noted in the chain.
    root = org.cloud.conversations[CHANNEL].activities[draft["root"]]
    assert "Status: Approved" in text_of(root)
    chain = [text_of(a) for a in org.posted(CHANNEL) if a.get("replyToId") == draft["root"]]
    assert any("Version 1 is approved" in t for t in chain)


def test_a_retried_invoke_changes_nothing_twice(org, draft):
    approve = buttons(draft)["approve"]
    value = {
        "action": {"type": "Action.Execute", "verb": approve["verb"], "data": approve["data"]},
        "trigger": "manual",
    }
    invoke = org.invoke(
        "adaptiveCard/action", value, org["bea"], conversation=draft["conversation"]
    )
    first = org.post(invoke).json()
    second = org.post(invoke).json()
    assert first["type"] == CARD
    assert second["value"] in ("That was done already; nothing more was recorded.",) or (
        "already approved" in second["value"]
    )
    org.settle()
    assert count(org, Review) == 1


def test_request_changes_records_the_reason_once(org, draft):
    send = buttons(draft)["send"]
    assert send["verb"] == "draft_request_changes"
    data = {**send["data"], "reason": "The plan for 2020-21 is missing."}
    done = click(org, send["verb"], data, draft=draft)
    assert "Status: Changes requested" in card_words(done)
    click(org, send["verb"], data, draft=draft)  # a double click
    with org.runtime.transaction() as session:
        (review,) = session.scalars(select(Review)).all()
        assert review.decision is Decision.REQUEST_CHANGES
        assert review.reason == "The plan for 2020-21 is missing."
        assert review.user_id == org["bea"].aad
    chain = [text_of(a) for a in org.posted(CHANNEL) if a.get("replyToId") == draft["root"]]
    assert any("The plan for 2020-21 is missing." in t for t in chain)


def test_request_changes_without_a_reason_asks_for_one(org, draft):
    send = buttons(draft)["send"]
    ask = click(org, send["verb"], {**send["data"], "reason": "  "}, draft=draft)
    assert ask["type"] == CARD
    card = ask["value"]
    assert problems(card) == []
    box = next(e for e in card["body"] if e.get("id") == "reason")
    assert box["type"] == "Input.Text" and box["maxLength"] == 3000
    assert any(e.get("color") == "attention" for e in card["body"])
    again, cancel = card["actions"]
    assert again["verb"] == "draft_request_changes"
    assert cancel["verb"] == "draft_request_changes_cancel"
    assert count(org, Review) == 0
    answer = click(org, cancel["verb"], cancel["data"], draft=draft)
    assert answer["value"] == "Nothing was recorded."
    assert count(org, Review) == 0
    done = click(org, again["verb"], {**again["data"], "reason": "Dates."}, draft=draft)
    assert done["type"] == CARD
    assert count(org, Review) == 1


def test_new_version_makes_one_version_however_often_clicked(org, draft):
    new = buttons(draft)["new"]
    answer = click(org, new["verb"], new["data"], "ann", draft=draft)
    assert "version 2" in answer["value"].lower()
    again = click(org, new["verb"], new["data"], "ann", draft=draft)
    assert "replaced by version 2" in again["value"]  # v1's button: no longer current
    assert count(org, DraftVersion) == 2


def test_reviewing_needs_the_reviewers_role_once_roles_are_enforced(org, draft):
    alex = org["alex"]
    org.say(f"role {alex.at} inspector", "ann", channel=CHANNEL, mentions=(alex,))
    approve = buttons(draft)["approve"]
    refused = click(org, approve["verb"], approve["data"], "alex", draft=draft)
    assert refused["type"] == MESSAGE and "reviewer" in refused["value"]
    assert count(org, Review) == 0
    # The refusal is kept in the history, under Alex's Entra object id.
    assert (
        count(org, HistoryEntry, HistoryEntry.action == "refused", HistoryEntry.actor == alex.aad)
        == 1
    )


def updates(org) -> int:
    """Card updates sent (PUT of an activity) so far."""
    return sum(1 for c in org.cloud.calls if c.method == "PUT" and "/activities/" in c.path)


def cancels(org, draft) -> dict[str, dict]:
    """The two cancel buttons as their reason cards carry them (the English one, and the
    Welsh one of a Welsh revision recorded for the draft)."""
    text_id = welsh_upload(org)
    english = click(org, "draft_request_changes", {"value": str(draft["version"])}, draft=draft)
    welsh = click(org, "welsh_request_changes", {"value": str(text_id)}, draft=draft)
    return {
        "english": english["value"]["actions"][1],
        "welsh": welsh["value"]["actions"][1],
    }


def test_the_cancel_buttons_check_role_and_channel_as_the_other_review_buttons(org, draft):
    org.say("authority wrexham language both", "ann")
    click(org, "draft_approve", {"value": str(draft["version"])}, draft=draft)
    found = cancels(org, draft)
    assert found["english"]["verb"] == "draft_request_changes_cancel"
    assert found["welsh"]["verb"] == "welsh_request_changes_cancel"
    # Ann makes herself an admin and Alex an inspector: roles are enforced, and Bea (who
    # approved) has none.
    ann, alex = org["ann"], org["alex"]
    org.say(f"role {ann.at} admin", "ann", channel=CHANNEL, mentions=(ann,))
    org.say(f"role {alex.at} inspector", "ann", channel=CHANNEL, mentions=(alex,))
    queued, updated = count(org, Delivery), updates(org)
    for who in ("bea", "alex"):  # no role; a role short of a reviewer's
        asked = click(
            org, "draft_request_changes", {"value": str(draft["version"])}, who, draft=draft
        )
        assert asked["type"] == MESSAGE and "reviewer" in asked["value"]
        for button in found.values():
            refused = click(org, button["verb"], button["data"], who, draft=draft)
            assert refused == asked
    assert (count(org, Delivery), updates(org)) == (queued, updated)

    # A reviewer, clicking in another channel (or a chat) with this channel's draft's ids.
    bea = org["bea"]
    org.say(f"role {bea.at} reviewer", "ann", channel=CHANNEL, mentions=(bea,))
    queued, updated = count(org, Delivery), updates(org)
    elsewhere = {"conversation": f"{TEAM};messageid={draft['root']}"}
    approve = org.click("draft_approve", {"value": str(draft["version"])}, bea, **elsewhere)
    assert approve.status_code == 200
    unknown = approve.json()
    assert unknown["type"] == MESSAGE and unknown["value"] == "That draft no longer exists."
    for button in found.values():
        for where in (elsewhere, {}):
            refused = org.click(button["verb"], button["data"], bea, **where)
            assert refused.status_code == 200 and refused.json() == unknown
    org.settle()
    assert (count(org, Delivery), updates(org)) == (queued, updated)
    # In its own channel the reviewer's cancel shows the card afresh, as before.
    assert click(org, found["english"]["verb"], found["english"]["data"], draft=draft) == {
        "statusCode": 200,
        "type": MESSAGE,
        "value": "Nothing was recorded.",
    }


def test_a_guest_clicking_is_refused_with_nothing_recorded(org, draft):
    answer = click(org, "draft_approve", {"value": str(draft["version"])}, "gus", draft=draft)
    assert "guest accounts cannot use it" in answer["value"]
    assert count(org, Review) == 0


def reminder_of(org, person="ann"):
    with org.runtime.transaction() as session:
        delivery = session.scalars(
            select(Delivery)
            .where(Delivery.kind == "reminder", Delivery.channel == org[person].aad)
            .order_by(Delivery.due_at)
        ).first()
        return delivery.activity_id, delivery.id


def test_reminder_done_completes_the_activity(org):
    org.say("log-activity wrexham adults 2020-04-20T10:00 annual performance review", "ann")
    activity_id, delivery_id = reminder_of(org)
    value = json.dumps({"a": activity_id, "d": delivery_id})
    answer = click(org, "reminder_done", {"value": value}, "ann")
    assert "marked completed" in answer["value"]
    with org.runtime.transaction() as session:
        assert session.get(Activity, activity_id).status is ActivityStatus.COMPLETED


def test_reminder_snooze_once_however_often_clicked(org):
    org.say("log-activity wrexham adults 2020-04-20T10:00 annual performance review", "ann")
    activity_id, delivery_id = reminder_of(org)
    data = {"a": activity_id, "d": delivery_id}  # the value's own keys, as data
    answer = click(org, "reminder_snooze", data, "ann")
    assert "remind you" in answer["value"]
    click(org, "reminder_snooze", data, "ann")
    assert count(org, Delivery, Delivery.key.like("snooze:%")) == 1
    # Someone else's reminder is not theirs to put off.
    refused = click(org, "reminder_snooze", data, "bea")
    assert "snooze" in refused["value"].lower() or "yours" in refused["value"].lower()


def test_reminder_list_answers_in_the_personal_chat(org):
    org.say("log-activity wrexham adults 2020-04-20T10:00 annual performance review", "ann")
    activity_id, delivery_id = reminder_of(org)
    answer = click(
        org, "reminder_list", {"value": json.dumps({"a": activity_id, "d": delivery_id})}, "ann"
    )
    assert "personal chat" in answer["value"]
    assert "annual performance review" in org.last("ann")


def test_a_bad_reminder_value_is_refused(org):
    answer = click(org, "reminder_done", {"value": "not json"}, "ann")
    assert answer["type"] == MESSAGE
    assert count(org, Activity) == 0


def test_the_welsh_review_buttons(org, draft):
    org.say("authority wrexham language both", "ann")
    click(org, "draft_approve", {"value": str(draft["version"])}, draft=draft)
    text_id = welsh_upload(org)
    ask = click(org, "welsh_request_changes", {"value": str(text_id)}, draft=draft)
    assert ask["type"] == CARD
    send, _ = ask["value"]["actions"]
    done = click(
        org, send["verb"], {**send["data"], "reason": "Use the council's Welsh name."}, draft=draft
    )
    assert "Welsh revision 1" in done["value"]
    approved = click(org, "welsh_approve", {"value": str(text_id)}, "alex", draft=draft)
    assert "approved Welsh revision 1" in approved["value"]
    again = click(org, "welsh_approve", {"value": str(text_id)}, "alex", draft=draft)
    assert "already" in again["value"].lower()
    with org.runtime.transaction() as session:
        decisions = sorted(r.decision.value for r in session.scalars(select(WelshReview)))
        assert decisions == ["approve", "request_changes"]
