"""Adaptive Cards as data: valid by the rules Adaptive Cards 1.5 documents, within Teams'
size limit however long the text.

The official JSON schema is not on PyPI or npm (the `adaptivecards` npm packages ship
TypeScript, not the schema file), so `problems()` checks what the schema explorer
(https://adaptivecards.io/explorer/) documents for every element the bot uses: the
card's required properties, known element and action types of version 1.5 and below,
each one's required properties and enumerated values, ids unique across the card and
its show-cards, and a label and an error message on every required input. Microsoft's own
library checks the cards the bot sends too (`test_adaptivecards`)."""

from __future__ import annotations

import json
from typing import Any

from markdown_it import MarkdownIt

from bot.delivery.messages import DANGER, PRIMARY, Action, Field, Message, shield
from bot.review import drafts
from handlers.teams import cards
from handlers.teams.text import visible
from tests.handlers.teams.double import MESSAGE_LIMIT

ELEMENTS = {
    "TextBlock": {"text"},
    "RichTextBlock": {"inlines"},
    "Image": {"url"},
    "Media": {"sources"},
    "Container": {"items"},
    "ColumnSet": set(),
    "Column": set(),
    "FactSet": {"facts"},
    "ImageSet": {"images"},
    "ActionSet": {"actions"},
    "Table": set(),
    "Input.Text": {"id"},
    "Input.Number": {"id"},
    "Input.Date": {"id"},
    "Input.Time": {"id"},
    "Input.Toggle": {"id", "title"},
    "Input.ChoiceSet": {"id"},
}
ACTIONS = {
    "Action.OpenUrl": {"url"},
    "Action.Submit": set(),
    "Action.ShowCard": {"card"},
    "Action.ToggleVisibility": {"targetElements"},
    "Action.Execute": set(),
}
ENUMS = {
    "size": {"Default", "Small", "Medium", "Large", "ExtraLarge"},
    "weight": {"Default", "Lighter", "Bolder"},
    "spacing": {"None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"},
    "associatedInputs": {"auto", "none"},
}
STYLES = {
    "TextBlock": {"default", "heading"},
    "Container": {"default", "emphasis", "good", "attention", "warning", "accent"},
    "action": {"default", "positive", "destructive"},
}


def problems(card: dict[str, Any], *, top: bool = True) -> list[str]:
    """What breaks the documented Adaptive Card rules in `card` (empty: none)."""
    found: list[str] = []
    ids: list[str] = []
    if card.get("type") != "AdaptiveCard":
        found.append("type must be AdaptiveCard")
    if not isinstance(card.get("version"), str) or float(card.get("version", "9")) > 1.5:
        found.append(f"version {card.get('version')!r} is not 1.5 or below")
    if top and card.get("$schema") != cards.SCHEMA:
        found.append("no $schema")

    def element(item: dict[str, Any], where: str) -> None:
        kind = item.get("type")
        if kind not in ELEMENTS:
            found.append(f"{where}: unknown element {kind!r}")
            return
        for name in ELEMENTS[kind] - item.keys():
            found.append(f"{where}: {kind} lacks {name}")
        if kind == "TextBlock" and not isinstance(item.get("text"), str):
            found.append(f"{where}: TextBlock text is not a string")
        if kind == "FactSet":
            for fact in item["facts"]:
                if not isinstance(fact.get("title"), str) or not isinstance(fact.get("value"), str):
                    found.append(f"{where}: a fact lacks title or value")
        for name, allowed in ENUMS.items():
            if name in item and item[name] not in allowed:
                found.append(f"{where}: {name} {item[name]!r}")
        if "style" in item and item["style"] not in STYLES.get(kind, {item["style"]}):
            found.append(f"{where}: style {item['style']!r}")
        if kind.startswith("Input.") and item.get("isRequired"):
            # Required: Teams says what is missing when it is left empty (and reads its label).
            message = item.get("errorMessage")
            if not isinstance(message, str) or not message.strip():
                found.append(f"{where}: required {kind} without an errorMessage")
            if not item.get("label"):
                found.append(f"{where}: required {kind} without a label")
        if "id" in item:
            ids.append(item["id"])
        for child in item.get("items", []):
            element(child, f"{where}/{kind}")
        if kind == "Table":
            # https://adaptivecards.io/explorer/Table.html: rows of TableRow, each of cells
            # of TableCell holding elements; as many cells as columns.
            columns = len(item.get("columns") or [])
            for number, row in enumerate(item.get("rows") or []):
                here = f"{where}/Table/rows[{number}]"
                if row.get("type") != "TableRow":
                    found.append(f"{here}: not a TableRow")
                cells = row.get("cells") or []
                if columns and len(cells) != columns:
                    found.append(f"{here}: {len(cells)} cells for {columns} columns")
                for cell in cells:
                    if cell.get("type") != "TableCell" or not isinstance(cell.get("items"), list):
                        found.append(f"{here}: a cell is not a TableCell with items")
                    for child in cell.get("items") or []:
                        element(child, f"{here}/TableCell")
        for child in item.get("actions", []):
            action(child, f"{where}/{kind}")

    def action(item: dict[str, Any], where: str) -> None:
        kind = item.get("type")
        if kind not in ACTIONS:
            found.append(f"{where}: unknown action {kind!r}")
            return
        for name in ACTIONS[kind] - item.keys():
            found.append(f"{where}: {kind} lacks {name}")
        if not item.get("title"):
            found.append(f"{where}: {kind} has no title")
        if "style" in item and item["style"] not in STYLES["action"]:
            found.append(f"{where}: action style {item['style']!r}")
        if "associatedInputs" in item and item["associatedInputs"] not in ENUMS["associatedInputs"]:
            found.append(f"{where}: associatedInputs {item['associatedInputs']!r}")
        if kind == "Action.Execute" and not item.get("verb"):
            found.append(f"{where}: Action.Execute without a verb")
        if "id" in item:
            ids.append(item["id"])
        if kind == "Action.ShowCard":
            shown = item["card"]
            found.extend(f"{where}/ShowCard: {p}" for p in problems(shown, top=False))
            for child in shown.get("body", []):
                collect(child)
            for child in shown.get("actions", []):
                if "id" in child:
                    ids.append(child["id"])

    def collect(item: dict[str, Any]) -> None:
        if "id" in item:
            ids.append(item["id"])

    if not isinstance(card.get("body", []), list):
        found.append("body is not a list")
    for index, item in enumerate(card.get("body", [])):
        element(item, f"body[{index}]")
    for index, item in enumerate(card.get("actions", [])):
        action(item, f"actions[{index}]")
    duplicates = {i for i in ids if ids.count(i) > 1}
    if top and duplicates:
        found.append(f"ids not unique: {sorted(duplicates)}")
    return found


def test_the_validator_catches_what_it_should():
    bad = {
        "type": "AdaptiveCard",
        "version": "1.6",
        "body": [
            {"type": "TextBlock"},
            {"type": "Marquee"},
            {"type": "TextBlock", "text": "x", "size": "Huge"},
            {"type": "Input.Text", "id": "t", "isRequired": True, "errorMessage": " "},
            {
                "type": "Table",
                "columns": [{"width": 1}, {"width": 1}],
                "rows": [
                    {"type": "TableRow", "cells": [{"type": "TableCell", "items": []}]},
                    {"type": "Row", "cells": [{"items": [{"type": "TextBlock"}]}] * 2},
                ],
            },
        ],
        "actions": [
            {"type": "Action.Execute", "title": "A", "id": "a"},
            {"type": "Action.Submit", "id": "a"},
        ],
    }
    found = "\n".join(problems(bad))
    for expected in (
        "version",
        "$schema",
        "lacks text",
        "Marquee",
        "size",
        "without a verb",
        "no title",
        "not unique",
        "required Input.Text without an errorMessage",
        "required Input.Text without a label",
        "1 cells for 2 columns",
        "not a TableRow",
        "not a TableCell",
        "TableCell: TextBlock lacks text",
    ):
        assert expected in found


def test_a_message_is_a_valid_card():
    message = Message(
        "**Reminder: A12** starts in 5 working days\n• one\n• two\n> quoted",
        heading="Wrexham: focused activity",
        fields=(
            Field("When", "**24 and 25 September 2019**"),
            Field("Where", shield("Ruthin *HQ*")),
        ),
        actions=(
            Action("reminder_done", "Done", '{"a": 1}', PRIMARY),
            Action("reminder_snooze", "Snooze", "2", DANGER),
            Action("reminder_list", "Open", "3"),
        ),
        group="reminder-1",
    )
    card = cards.card(message)
    assert problems(card) == []
    assert card["body"][0] == {
        "type": "TextBlock",
        "text": "Wrexham: focused activity",
        "wrap": True,
        "size": "Large",
        "weight": "Bolder",
        "style": "heading",
    }
    assert all(b.get("wrap") for b in card["body"] if b["type"] == "TextBlock")
    assert card["body"][-1]["type"] == "FactSet"
    assert card["body"][-1]["facts"][1]["value"] == "Ruthin \\*HQ\\*"
    assert [a["type"] for a in card["actions"]] == ["Action.Execute"] * 3
    assert card["actions"][0] == {
        "type": "Action.Execute",
        "id": "reminder_done",
        "title": "Done",
        "verb": "reminder_done",
        "data": {"value": '{"a": 1}', "verb": "reminder_done"},
        "style": "positive",
    }
    assert card["actions"][1]["style"] == "destructive"
    quote = next(b for b in card["body"] if b["type"] == "Container")
    assert quote["style"] == "emphasis" and quote["items"][0]["text"] == "quoted"


def test_lines_break_as_teams_needs_and_lists_stay_lists():
    blocks = cards.blocks_of("line one\nline two\n- a\n- b\n\nnext paragraph")
    assert blocks[0]["text"] == "line one\n\nline two\n\n- a\n- b"
    assert blocks[1]["text"] == "next paragraph" and blocks[1]["spacing"] == "Medium"
    assert MarkdownIt("commonmark").render(blocks[0]["text"]).count("<li>") == 2


def test_the_review_card_has_its_buttons_and_asks_for_a_reason():
    labels = {
        "approve": "Approve",
        "request_changes": "Request changes",
        "new_version": "New version",
        "modal_submit": "Send",
        "reason_label": "What should change, and why?",
        "reason_hint": "Your reason is posted in the draft's thread.",
    }
    card = cards.review_card(
        title="Draft letter: Wrexham, 2019-20",
        text="**Version 1** · Status: **In review**\n- No director's name",
        value="17",
        labels=labels,
        approve=drafts.APPROVE,
        request_changes=drafts.REQUEST_CHANGES,
        reason_missing="Say what should change.",
        new_version=drafts.NEW_VERSION,
        reason_limit=drafts.MAX_REASON,
    )
    assert problems(card) == []
    assert card["body"][0]["text"] == "Draft letter: Wrexham, 2019-20"
    approve, request, new = card["actions"]
    assert approve["type"] == "Action.Execute" and approve["verb"] == drafts.APPROVE
    assert approve["data"] == {"value": "17", "verb": drafts.APPROVE}
    assert approve["associatedInputs"] == "none"
    assert new["verb"] == drafts.NEW_VERSION and new["data"]["value"] == "17"
    assert request["type"] == "Action.ShowCard" and request["title"] == "Request changes"
    (box,) = request["card"]["body"]
    assert box == {
        "type": "Input.Text",
        "id": cards.REASON_INPUT,
        "label": labels["reason_label"],
        "placeholder": labels["reason_hint"],
        "isMultiline": True,
        "isRequired": True,
        "errorMessage": "Say what should change.",
        "maxLength": drafts.MAX_REASON,
    }
    (send,) = request["card"]["actions"]
    assert send["type"] == "Action.Execute" and send["verb"] == drafts.REQUEST_CHANGES
    assert send["data"] == {"value": "17", "verb": drafts.REQUEST_CHANGES}
    assert send["associatedInputs"] == "auto"  # the reason comes back in data["reason"]


def test_size_is_counted_as_teams_counts_it():
    assert cards.activity_size("é") == len('"é"'.encode("utf-16-le"))
    assert cards.activity_size("\U0001f4c4") == 2 * 2 + 4  # a surrogate pair, and the quotes
    assert cards.MESSAGE_LIMIT == MESSAGE_LIMIT


def test_a_long_message_goes_as_several_that_each_fit():
    paragraphs = [
        f"Paragraph {n}: " + ("the CMHT inspection identified delays; " * 30) for n in range(60)
    ]
    text = "\n\n".join(paragraphs)
    message = Message(
        text, heading="Long", actions=(Action("a", "A", "1"),), fields=(Field("F", "v"),)
    )
    made = cards.message_activities(message, key="k1")
    assert len(made) > 3
    for one in made:
        assert cards.activity_size(one) <= cards.BUDGET
        assert problems(one["attachments"][0]["content"]) == []
        assert one["channelData"] == {cards.KEY_PROPERTY: "k1"}
    assert made[0]["attachments"][0]["content"]["body"][0]["text"] == "Long"
    assert "actions" in made[-1]["attachments"][0]["content"]
    assert all("actions" not in m["attachments"][0]["content"] for m in made[:-1])
    shown = [
        b["text"]
        for m in made
        for b in m["attachments"][0]["content"]["body"]
        if b["type"] == "TextBlock"
    ][1:]
    assert "\n\n".join(shown) == text


def test_one_huge_paragraph_is_cut_between_words_never_inside_an_escape_or_link():
    word = "a\\*b &amp; [link](https://e.example/x) "
    text = word * 2000
    pieces = cards.split_markdown(text, 4000)
    assert len(pieces) > 10
    for piece in pieces:
        assert cards.activity_size(piece) - 4 <= 4000
        assert not piece.endswith("\\") and not piece.endswith("&amp")
        assert piece.count("[") == piece.count("](")
    assert " ".join(pieces).split() == text.split()


def test_summaries_are_short_plain_words():
    assert cards.summary_of("**Reminder: A12** \\*x\\*\nmore") == "Reminder: A12 *x*"
    assert len(cards.summary_of("word " * 100)) <= cards.SUMMARY_LIMIT


def test_cards_are_plain_json():
    card = cards.card(Message("x", heading="h", actions=(Action("a", "A"),)))
    assert json.loads(json.dumps(card)) == card
    assert visible(card["body"][1]["text"]) == "x"
