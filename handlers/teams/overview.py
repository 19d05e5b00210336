"""`/ciw overview` in Teams: one Adaptive Card with a `Table` of the 22 authorities, and
its CSV file as a download link in the person's chat.

The `Table` element came with Adaptive Cards 1.5, which Teams renders for bots
(https://learn.microsoft.com/adaptive-cards/schema-explorer/table): a header row
(`firstRowAsHeader`), one row per authority in the overview's order, the totals last.
The cells' words are the chat listing's (`templates/messages/_overview.j2`), the headers
`overview_labels.j2`'s, all in Teams' Markdown with typed text escaped. The whole table is
one activity, so it must fit Teams' size limit (`cards.BUDGET`, UTF-16): the cells are
short (counts joined by `·`, explained by their headers), which keeps 22 rows under 26 KB
whatever the counts (`tests/handlers/teams/test_overview.py` measures the largest).

`overview csv`'s outbox row (`bot.review.overview_file`) becomes a message in the person's
personal chat with a link, `PUBLIC_URL/files/<token>`, made when it is sent; the link
makes the file when it is opened (`bot.review.file_links`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery.messages import Message, shield
from bot.review import file_links, overview_file
from bot.review.overview import Overview
from bot.runtime import Runtime
from db.models import Delivery
from handlers.commands.base import Reply
from handlers.teams import cards
from handlers.teams import text as teams_text

TEMPLATE = "overview"  # the reply Teams shows as this card
# The columns, and how wide each is against the others (TableColumnDefinition.width).
WIDTHS = {"council": 3, "letter": 4, "activities": 2, "findings": 2}


def _cell(markdown: str, *, wrap: bool = True) -> dict[str, Any]:
    # Counts are short: left unwrapped, a cell takes a few bytes less (22 rows add up).
    block = cards.text_block(markdown) if wrap else {"type": "TextBlock", "text": markdown}
    return {"type": "TableCell", "items": [block]}


def _row(texts: list[str], *, header: bool = False) -> dict[str, Any]:
    wraps = [True] * len(texts) if header else [True, True, False, False]
    return {
        "type": "TableRow",
        "cells": [_cell(text, wrap=wrap) for text, wrap in zip(texts, wraps, strict=True)],
    }


def table(runtime: Runtime, found: Overview) -> dict[str, Any]:
    """The overview as an Adaptive Card `Table`: headers, the authorities, the totals. A
    published letter's address is left to the CSV and `/ciw list` (22 addresses of up to
    2,000 characters would not fit one card)."""
    messages = runtime.templates.messages
    labels = messages.get_template("overview_labels.j2").module.labels
    parts = messages.get_template("_overview.j2").module
    neutral = [
        [shield(row.council), parts.state(row), parts.counts(row.activities), parts.kinds(row)]
        for row in found.rows
    ]
    totals = found.totals
    neutral.append(
        [
            f"**{shield(labels['total'])}**",
            parts.late_total(totals),
            parts.counts(totals.activities),
            parts.kinds(totals),
        ]
    )
    return {
        "type": "Table",
        "columns": [{"width": width} for width in WIDTHS.values()],
        "firstRowAsHeader": True,
        "rows": [
            _row([teams_text.escape(labels[name]) for name in WIDTHS], header=True),
            # The cells are in the neutral markup (typed text shielded): Teams' Markdown here.
            *(_row([teams_text.markdown(str(cell)) for cell in row]) for row in neutral),
        ],
    }


def card(runtime: Runtime, reply: Reply) -> tuple[str, dict[str, Any]]:
    """The overview's answer in Teams: its headline (neutral markup, the notification's
    words) and one card of the headline, the table and the CSV hint."""
    found: Overview = reply.data["overview"]
    words = runtime.templates
    intro = words.neutral("overview_intro", overview=found)
    after = words.neutral("overview_end", overview=found)
    body = [
        *cards.blocks_of(teams_text.markdown(intro)),
        table(runtime, found),
        *cards.blocks_of(teams_text.markdown(after)),
    ]
    return intro, cards.card_of(body)


def link_message(runtime: Runtime, session: Session, row: Delivery, *, now: dt.datetime) -> Message:
    """The message an `overview csv` row is in Teams: a new download link to the year's CSV
    (or, with no PUBLIC_URL, how to have the file otherwise)."""
    year = overview_file.year_of(row)
    url = file_links.create_overview(session, year, runtime.settings, now=now, actor=row.channel)
    text = runtime.templates.neutral(
        "overview_csv_link",
        url=url,
        year=year,
        filename=overview_file.filename(year, runtime.today()),
        days=file_links.LIFETIME.days,
    )
    return Message(text)
