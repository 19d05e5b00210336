"""Every card the bot sends Teams, checked by Microsoft's own Adaptive Cards library.

`adaptivecards/check.js` runs the npm package `adaptivecards` (its version pinned in
`adaptivecards/package.json` and `package-lock.json`; `.ci/run` installs it with `npm ci`)
on the cards and reports what its parser and `validateProperties()` find: what its
designer warns of, a required input without a label or an error message included. The
cards are those a working session with the bot sends, as the fake cloud received them or
as the bot answered an invoke: command answers and a listing's pages, the forms' opener
cards and their dialogs (empty, and with the errors of a bad submission), a draft's review
card and reply chain, the answer to a decision, the reason-for-changes cards of a draft and
of its Welsh (with and without the error), the translation pack's link, a translator's
file sent in the personal chat (refused, then recorded: the answers, the note in the
chain, the review card with the Welsh review's buttons), the overview's table, an
announcement and reminders.

The check is skipped where node is not installed, and where the package is not
(`npm ci --prefix tests/handlers/teams/adaptivecards`) unless in CI, where that fails it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.records import activities
from bot.records.dates import parse_when
from bot.review import translation
from db.models import Authority, DraftVersion, Service, WelshText
from handlers.teams.text import visible
from tests.bot.letters.test_translation_pack import fill
from tests.handlers.teams.test_cards import problems
from tests.handlers.teams.test_forms import fetch, opener_of, submit
from tests.handlers.teams.world import posted_draft

CARD = "application/vnd.microsoft.card.adaptive"
CHECKER = Path(__file__).parent / "adaptivecards"
INSTALL = "npm ci --prefix tests/handlers/teams/adaptivecards"


# -- Microsoft's validator ------------------------------------------------------------------
def checker() -> str:
    """node, with the package installed (else the test is skipped, or fails in CI)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(f"node is not installed: Microsoft's card validator cannot run ({INSTALL})")
    if not (CHECKER / "node_modules" / "adaptivecards" / "package.json").is_file():
        missing = f"the adaptivecards package is not installed: {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return node


def validate(cards: list[dict[str, Any]]) -> list[list[dict[str, str]]]:
    """What the `adaptivecards` package reports of each card (an empty list: nothing)."""
    run = subprocess.run(
        [checker(), str(CHECKER / "check.js")],
        input=json.dumps(cards),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    reports = json.loads(run.stdout)
    assert len(reports) == len(cards)
    return reports


def test_the_validator_reports_what_it_should():
    fine = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {
                "type": "Input.Text",
                "id": "a",
                "label": "A",
                "isRequired": True,
                "errorMessage": "Say A.",
            }
        ],
    }
    bad = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {"type": "Marquee"},
            {"type": "TextBlock", "text": "x", "size": "Huge"},
            {"type": "Input.Text", "id": "a", "label": "A", "isRequired": True},
        ],
        "actions": [
            {
                "type": "Action.ShowCard",
                "title": "More",
                "card": {
                    "type": "AdaptiveCard",
                    "body": [{"type": "Input.Text", "id": "b", "isRequired": True}],
                },
            }
        ],
    }
    ok, found = validate([fine, bad])
    assert ok == []
    events = {(e["event"], e.get("id")) for e in found}
    assert events >= {
        ("UnknownElementType", None),
        ("InvalidPropertyValue", None),
        ("RequiredInputsShouldHaveErrorMessage", "a"),
        ("RequiredInputsShouldHaveLabel", "b"),  # in a show-card too
        ("RequiredInputsShouldHaveErrorMessage", "b"),
    }


# -- the cards one session sends ---------------------------------------------------------------
def _answered(answer: dict[str, Any]) -> dict[str, Any] | None:
    """The card an invoke's answer carries: a dialog's form, or a card shown to the clicker."""
    task = answer.get("task") or {}
    if task.get("type") == "continue":
        return task["value"]["card"]["content"]
    if answer.get("type") == CARD:
        return answer["value"]
    return None


def _first_words(card: dict[str, Any]) -> str:
    """A posted card as a failure names it: its first words."""
    for element in card.get("body") or []:
        if element.get("type") == "TextBlock":
            return repr(visible(element["text"])[:60])
    return "a card without text"


def sent_cards(org: Any) -> dict[str, dict[str, Any]]:
    """Each distinct card the bot sent or answered with, by where it was seen."""
    answered: list[tuple[str, dict[str, Any]]] = []

    def keep(name: str, answer: dict[str, Any]) -> None:
        card = _answered(answer)
        assert card is not None, f"{name}: no card in {answer}"
        answered.append((name, card))

    def click(name: str, verb: str, data: dict[str, Any], who: str, draft=None) -> None:
        where = draft["conversation"] if draft else None
        response = org.click(verb, data, org[who], conversation=where)
        assert response.status_code == 200, response.text
        org.settle()
        keep(name, response.json())

    org.say("help")
    org.say("frobnicate")
    org.say("log-activity wrexham adults 2020-04-20T10:00 annual performance review")
    with org.runtime.transaction() as session:  # enough for a listing of two pages
        wrexham = session.scalar(select(Authority).where(Authority.slug == "wrexham"))
        for day in range(1, 9):
            activities.log_activity(
                session,
                authority=wrexham,
                service=Service.ADULTS,
                when=parse_when(f"2020-02-{day:02d}"),
                title=f"focused activity {day} " + "x" * 450,
                details=None,
                inspectors=[org["ann"].aad],
                actor=org["ann"].aad,
                channel_id=None,
                today=org.runtime.today(),
                now=org.runtime.now(),
                platform="teams",
            )
    org.say("log-finding wrexham 2019-20 prevention improvement adults Delays in responding.")
    # A listing long enough for pages, and its Next page.
    org.say("list wrexham 2019-20")
    page = org.replies(org["ann"].chat)[-1]["attachments"][0]["content"]
    more = page["actions"][-1]
    click("the listing's next page", more["verb"], more["data"], "ann")
    org.say("overview 2019-20")  # the 22 authorities in a Table

    # The forms: opener, dialog, the dialog again with every required field's error.
    for form in ("log-activity", "log-finding"):
        org.say(form)
        dialog = fetch(org, opener_of(org))
        keep(f"the {form} dialog", dialog)
        keep(f"the {form} dialog with errors", submit(org, _answered(dialog), {}))

    # A draft: its review card and reply chain; the reason asked for, a decision's answer.
    draft = posted_draft(org)
    ask = {"value": str(draft["version"])}
    click("the reason for changes", "draft_request_changes", ask, "bea", draft)
    click(
        "the reason for changes, none given",
        "draft_request_changes",
        {**ask, "reason": "  "},
        "bea",
        draft,
    )
    org.say("authority wrexham language both", "ann")
    # With a public address, so the Word files and the translation pack are links.
    org.runtime.settings = replace(org.runtime.settings, public_url="https://ciw.example.org")
    click("the review card after approval", "draft_approve", ask, "bea", draft)

    # Its Welsh: the pack's link; the translator's file refused, then recorded (their
    # answers, the note with its buttons, the card in its Welsh state); the reason for
    # changes to it.
    with org.runtime.transaction() as session:
        version = session.get(DraftVersion, draft["version"])
        pack = translation.pack_document(org.runtime, version.draft, version)
    translator = org["alex"]
    for name, content in (("cyfieithiad.pdf", b"%PDF"), ("pecyn.docx", fill(pack, ["Annwyl"]))):
        message = org.message("", translator)
        message["attachments"] = [org.cloud.send_file(name, content)]
        assert org.post(message).status_code == 200
        org.settle()
    with org.runtime.transaction() as session:
        welsh = {"value": str(session.scalars(select(WelshText.id)).one())}
    click("the reason for changes to the Welsh", "welsh_request_changes", welsh, "bea", draft)
    click(
        "the reason for changes to the Welsh, none given",
        "welsh_request_changes",
        {**welsh, "reason": ""},
        "bea",
        draft,
    )

    # An announcement, then the reminders once they are due.
    org.say("reschedule A1 2020-05-11T10:00 | new date agreed")
    org.runtime.clock.set("2020-05-11T08:00")
    org.runtime.kick()
    org.settle()

    named: dict[str, list[str]] = {}  # a card's JSON: where it was seen
    sent = [
        (f"{call.method} {_first_words(attachment['content'])}", attachment["content"])
        for call in list(org.cloud.calls)
        if call.method in {"POST", "PUT"} and "/activities" in call.path
        for attachment in call.body.get("attachments") or []
        if attachment.get("contentType") == CARD
    ]
    for name, card in [*sent, *answered]:
        named.setdefault(json.dumps(card, sort_keys=True), []).append(name)
    return {
        f"#{number} {' = '.join(names)}": json.loads(key)
        for number, (key, names) in enumerate(named.items(), 1)
    }


def _inputs(elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for element in elements:
        if str(element.get("type", "")).startswith("Input."):
            found.append(element)
        found += _inputs([*(element.get("body") or []), *(element.get("items") or [])])
        for action in element.get("actions") or []:
            found += _inputs([action["card"]] if action.get("card") else [])
    return found


def inputs_of(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every input on a card, those in its show-cards' cards included."""
    return _inputs([card])


def _kinds_covered(cards: dict[str, dict[str, Any]]) -> None:
    names = " ".join(cards)
    for expected in (
        "the log-activity dialog",
        "the log-activity dialog with errors",
        "the log-finding dialog",
        "the log-finding dialog with errors",
        "the reason for changes",
        "the reason for changes, none given",
        "the reason for changes to the Welsh",
        "the reason for changes to the Welsh, none given",
        "the review card after approval",
        "the listing's next page",
    ):
        assert expected in names, expected
    texts = json.dumps(list(cards.values()))
    for verb in (
        "reminder_done",
        "welsh_approve",
        "welsh_request_changes",
        "listing_next_page",
        "draft_new_version",
    ):
        assert verb in texts, f"no card with {verb}"
    for words in (
        "Translation pack for version 1",  # the pack's link in the reply chain
        "Welsh text recorded",  # the note saying who sent it
        "Welsh: revision 1 uploaded by",  # the review card in its Welsh state
        "is Welsh revision 1 of the letter",  # the translator's answer
        "not a Word .docx",  # a refusal of a file
        "TableCell",  # the overview's table
    ):
        assert words in texts, f"no card with {words!r}"


def test_every_required_input_says_what_is_missing(org):
    cards = sent_cards(org)
    _kinds_covered(cards)
    required = [
        (name, box)
        for name, card in cards.items()
        for box in inputs_of(card)
        if box.get("isRequired")
    ]
    assert len(required) >= 4 * 4 + 4  # the dialogs' fields, the reason boxes
    for name, box in required:
        assert isinstance(box.get("errorMessage"), str) and box["errorMessage"].strip(), (name, box)
        assert box.get("label"), (name, box)
    for name, card in cards.items():
        assert problems(card) == [], name


def _counts(card: dict[str, Any], event: dict[str, str]) -> bool:
    """Whether a report is one to act on: all are, but an empty `choices` on the people
    picker. Teams fills it from `choices.data` (a `Data.Query` of graph.microsoft.com/users)
    and documents it with no static choices
    (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/people-picker);
    the library reports every ChoiceSet without choices, its query not considered."""
    if event["event"] != "CollectionCantBeEmpty" or event.get("type") != "Input.ChoiceSet":
        return True
    picker = next((i for i in inputs_of(card) if i.get("id") == event.get("id")), {})
    query = picker.get("choices.data") or {}
    return not (
        query.get("type") == "Data.Query" and query.get("dataset") and not picker.get("choices")
    )


def test_microsofts_validator_finds_nothing_in_any_card_the_bot_sends(org):
    checker()  # before the session: skipped at once where the validator cannot run
    cards = sent_cards(org)
    _kinds_covered(cards)
    reports = validate(list(cards.values()))
    found = {}
    for (name, card), report in zip(cards.items(), reports, strict=True):
        counted = [event for event in report if _counts(card, event)]
        if counted:
            found[name] = counted
    shown = "\n".join(f"{name}: {json.dumps(report)}" for name, report in found.items())
    assert not found, f"{len(found)} of {len(cards)} cards:\n{shown}"
