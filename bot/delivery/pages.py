"""Long listings in pages a chat message shows whole.

The pages are cut from the neutral text (`bot.delivery.messages.split`), so every platform shows
the same pages. Slack collapses a message beyond about 4,000 characters behind "Show more" and refuses
one beyond 40,000 (https://docs.slack.dev/reference/methods/chat.postMessage, "Truncating
content"), so `/ciw list`, `/ciw upcoming` and the reminder's list button answer one page
at a time: the rendered listing cut between lines (else words) by the shared splitter.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.delivery.messages import split

PAGE_CHARS = 3500  # leaves room for the page line under Slack's ~4,000 shown whole


@dataclass(frozen=True)
class Page:
    """One page of a listing: its text, its number and how many there are."""

    text: str
    number: int
    total: int


def _pieces(text: str) -> list[str]:
    return split(text, PAGE_CHARS) or [""]


def count(text: str) -> int:
    """How many pages `text` fills."""
    return len(_pieces(text))


def page_of(text: str, number: int) -> Page | None:
    """Page `number` (from 1) of `text`; None when there is no such page."""
    pieces = _pieces(text)
    if not 1 <= number <= len(pieces):
        return None
    return Page(pieces[number - 1], number, len(pieces))
