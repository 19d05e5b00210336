"""The activity and finding forms in Teams: `log-activity` / `log-finding` with no arguments
answer with a card whose button opens the form in a dialog (`task/fetch`); its submission
(`task/submit`) records like the typed command, or shows what was wrong in the dialog."""

from __future__ import annotations

import copy

from sqlalchemy import func, select

from db.models import Activity, Finding, FindingKind, Principle
from tests.handlers.teams.test_cards import problems
from tests.handlers.teams.world import CHANNEL, card_of


def count(org, model) -> int:
    with org.runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def opener_of(org, who="ann") -> dict:
    """The button of the last form card the bot sent someone."""
    cards = [
        card_of(a)
        for a in org.posted(org[who].chat)
        if any(b.get("type") == "Action.Submit" for b in (card_of(a) or {}).get("actions", []))
    ]
    assert cards, "no form card"
    card = cards[-1]
    assert problems(card) == []
    (button,) = card["actions"]
    assert button["type"] == "Action.Submit"
    assert button["data"]["msteams"] == {"type": "task/fetch"}
    return button


def fetch(org, button: dict, who="ann"):
    """Click the card's button: Teams asks the bot for the dialog (task/fetch)."""
    value = {"data": button["data"], "context": {"theme": "default"}}
    answer = org.post(org.invoke("task/fetch", value, org[who]))
    assert answer.status_code == 200, answer.text
    return answer.json()


def form_of(dialog: dict) -> dict:
    task = dialog["task"]
    assert task["type"] == "continue", task
    card = task["value"]["card"]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert problems(card["content"]) == []
    return card["content"]


def inputs(card: dict) -> dict[str, dict]:
    return {e["id"]: e for e in card["body"] if e.get("id")}


def errors_of(card: dict) -> list[str]:
    return [e["text"] for e in card["body"] if e.get("color") == "attention"]


def submit(org, card: dict, values: dict, who="ann", *, data=None) -> dict:
    """Press Record: Teams sends the submit action's data with the inputs (task/submit)."""
    (record,) = card["actions"]
    payload = {**copy.deepcopy(data or record["data"]), **values}
    answer = org.post(org.invoke("task/submit", {"data": payload, "context": {}}, org[who]))
    assert answer.status_code == 200, answer.text
    org.settle()
    return answer.json()


GOOD_ACTIVITY = {
    "authority": "wrexham",
    "service": "adults",
    "start": "2020-04-20",
    "end": "2020-04-21",
    "time": "10:00",
    "title": "inspection of the CMHT",
    "details": "with HIW",
}


def test_the_activity_form_opens_from_its_card_as_a_dialog(org):
    org.say("log-activity", "ann")
    assert count(org, Activity) == 0
    button = opener_of(org)
    assert button["data"]["dialog_id"] == "ciw_log_activity"
    dialog = fetch(org, button)
    assert dialog["task"]["value"]["title"] == "Log an activity"
    card = form_of(dialog)
    assert card["version"] == "1.5"
    fields = inputs(card)
    assert fields["authority"]["type"] == "Input.ChoiceSet"
    assert len(fields["authority"]["choices"]) == 22
    assert {"title": "Wrexham County Borough Council", "value": "wrexham"} in fields["authority"][
        "choices"
    ]
    assert [c["value"] for c in fields["service"]["choices"]] == ["children", "adults", "both"]
    assert fields["start"]["type"] == "Input.Date" and fields["time"]["type"] == "Input.Time"
    assert fields["title"]["maxLength"] == 500 and fields["details"]["maxLength"] == 3000
    assert fields["inspectors"]["isMultiSelect"] is True
    assert fields["inspectors"]["choices.data"]["dataset"] == "graph.microsoft.com/users"


def test_bad_input_is_shown_in_the_dialog_and_nothing_is_recorded(org):
    org.say("log-activity", "ann")
    card = form_of(fetch(org, opener_of(org)))
    bad = {**GOOD_ACTIVITY, "end": "2020-04-19", "title": "  "}
    again = form_of(submit(org, card, bad))
    errors = errors_of(again)
    assert any("before" in e for e in errors), errors  # the end is before the start
    assert any("title" in e.lower() for e in errors), errors
    # What was entered is kept; nothing recorded, nothing said in the chat.
    fields = inputs(again)
    assert fields["authority"]["value"] == "wrexham"
    assert fields["end"]["value"] == "2020-04-19"
    assert count(org, Activity) == 0
    assert len(org.chat("ann")) == 1  # only the form's card
    # Corrected in the same dialog, it records.
    assert submit(org, again, GOOD_ACTIVITY) == {}
    assert count(org, Activity) == 1


def test_a_good_form_records_for_the_channel_it_was_asked_in(org):
    alex = org["alex"]
    org.say("log-activity", "ann", channel=CHANNEL)
    # The card came to Ann's personal chat; the channel's thread was told where.
    card = form_of(fetch(org, opener_of(org)))
    answer = submit(org, card, {**GOOD_ACTIVITY, "inspectors": f"{alex.aad},{org['ann'].aad}"})
    assert answer == {}  # the dialog closes
    with org.runtime.transaction() as session:
        activity = session.scalars(select(Activity)).one()
        assert activity.channel_id == CHANNEL
        assert activity.platform == "teams"
        assert activity.inspector_ids == sorted([org["ann"].aad, alex.aad])
        assert activity.title == "inspection of the CMHT"
        assert activity.start_time.isoformat() == "10:00:00"
    assert "Recorded A1" in org.last("ann")


def test_a_form_submitted_twice_records_once(org):
    org.say("log-activity", "ann")
    card = form_of(fetch(org, opener_of(org)))
    assert submit(org, card, GOOD_ACTIVITY) == {}
    assert submit(org, card, GOOD_ACTIVITY) == {}
    assert count(org, Activity) == 1
    assert len([t for t in org.chat("ann") if "Recorded" in t]) == 1
    # Opened again from the same card, it is a new form.
    card = form_of(fetch(org, opener_of(org)))
    assert submit(org, card, {**GOOD_ACTIVITY, "title": "another"}) == {}
    assert count(org, Activity) == 2


def test_a_tampered_form_is_refused_with_nothing_recorded(org):
    org.say("log-activity", "ann")
    button = opener_of(org)
    card = form_of(fetch(org, button))
    data = copy.deepcopy(card["actions"][0]["data"])
    data["opened"]["channel_id"] = CHANNEL  # sending the reminders elsewhere
    refused = submit(org, card, GOOD_ACTIVITY, data=data)
    assert refused["task"]["type"] == "message"
    assert "could not be checked" in refused["task"]["value"]
    # Someone else submitting Ann's form, or opening Ann's card.
    assert submit(org, card, GOOD_ACTIVITY, who="bea")["task"]["type"] == "message"
    assert "could not be checked" in fetch(org, button, who="bea")["task"]["value"]
    # A form with no signature at all.
    bare = {"action": "ciw_log_activity"}
    assert submit(org, card, GOOD_ACTIVITY, data=bare)["task"]["type"] == "message"
    assert count(org, Activity) == 0


def test_people_not_picked_from_the_list_are_refused(org):
    org.say("log-activity", "ann")
    card = form_of(fetch(org, opener_of(org)))
    again = form_of(submit(org, card, {**GOOD_ACTIVITY, "inspectors": "<!channel>"}))
    assert any("cannot tell who" in e for e in errors_of(again))
    assert count(org, Activity) == 0


def test_the_finding_form(org):
    org.say("log-activity wrexham adults 2019-10-15 inspection of CMHT", "ann")
    org.say("log-finding", "ann", channel=CHANNEL)
    button = opener_of(org)
    assert button["data"]["dialog_id"] == "ciw_log_finding"
    dialog = fetch(org, button)
    card = form_of(dialog)
    fields = inputs(card)
    assert [c["value"] for c in fields["principle"]["choices"]] == [
        "well-being",
        "people",
        "prevention",
        "partnerships",
    ]
    assert [c["value"] for c in fields["kind"]["choices"]] == ["strength", "improvement"]
    assert fields["year"]["choices"][0]["value"] == "2020-21"
    assert fields["text"]["maxLength"] > 1000
    # Bad: no principle, an activity id that is none.
    bad = {"authority": "wrexham", "kind": "improvement", "activity": "Z9", "text": "Delays."}
    again = form_of(submit(org, card, bad))
    assert len(errors_of(again)) >= 3  # the header, the principle, the activity
    assert count(org, Finding) == 0
    good = {**bad, "principle": "prevention", "activity": "A1", "service": "adults"}
    assert submit(org, again, good) == {}
    with org.runtime.transaction() as session:
        finding = session.scalars(select(Finding)).one()
        assert (finding.principle, finding.kind) == (Principle.PREVENTION, FindingKind.IMPROVEMENT)
        assert finding.activity_id == 1 and finding.review_year == 2019
    assert "Recorded F1" in org.last("ann")


def test_a_guest_gets_no_form(org):
    org.say("log-activity", "ann")
    button = opener_of(org)
    answer = fetch(org, button, who="gus")
    assert answer["task"]["type"] == "message"
    assert "guest accounts cannot use it" in answer["task"]["value"]
