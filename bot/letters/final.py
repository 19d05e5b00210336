"""The letter as issued: dated the day it is issued, and its Welsh letter made of the
approved Welsh paragraphs, in the English letter's structure.

A stored version is the letter as approved, dated the day it was assembled. Issued, it is
dated the issue date: its date line (the one-line paragraph before the subject heading
that holds a date as the letter writes it, `Date: 03 August 2020`) is written again by
`templates/letters/date_line.j2`, in English or in Welsh (`Dyddiad: 3 Rhagfyr 2026`).

The Welsh letter: a filled translation pack gives one Welsh paragraph per element of the
English letter, so each keeps its element's kind (heading and level, list item,
paragraph) and the Welsh letter has the English one's headings and lists. A row left
empty keeps the English element, marked as the language it is in; a Welsh paragraph the
translator left identical to its English is English too. A bullet the translator copied
from the pack's English column is dropped (the item is a list item already). A Welsh
document of the translator's own that does not pair with the English, paragraph for
paragraph, becomes plain paragraphs (lines starting with a bullet, list items): its
structure cannot be known. A "DRAFT – version N" line copied from a draft file is never
kept.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.letters.render import Element
from bot.records.dates import WELSH_MONTHS

ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# A date as the English letter writes it (`03 August 2020`, `3 August 2020`).
_ENGLISH_DATE = re.compile(rf"\b(\d{{1,2}}) ({'|'.join(ENGLISH_MONTHS)}) (\d{{4}})\b")
# A paragraph that is a date line in a Welsh document: a short label, then a date in
# Welsh or English (`Dyddiad: 3 Awst 2020`, `3ydd Awst 2020`, `Dyddiad: 03 August 2020`).
_ANY_DATE_LINE = re.compile(
    r"^[^\d\n]{0,30}?\d{1,2}(?:af|ail|ydd|edd|fed|eg|ed|ain)? "
    rf"(?:{'|'.join(WELSH_MONTHS + ENGLISH_MONTHS)}) \d{{4}}\.?$",
    re.IGNORECASE,
)
# The marking of a draft (English or Welsh), copied with a draft's text: never final.
_MARKING = re.compile(r"^(?:DRAFT|DRAFFT)\s*[\u2013\u2014-]\s*(?:version|fersiwn)\s*\d+$", re.I)
# A bullet typed before an item (the pack shows the English items with "• ").
_BULLET = re.compile(r"^[\u2022\u00b7\u25aa\u25cf\u2023\u2043\u2013\u2014*-]\s+")


class NotIssuable(ValueError):
    """The letter cannot be issued as it stands; the message says what is missing."""


def _valid_date(match: re.Match[str]) -> bool:
    day, month, year = int(match.group(1)), ENGLISH_MONTHS.index(match.group(2)) + 1, match[3]
    try:
        dt.date(int(year), month, day)
    except ValueError:
        return False
    return True


def date_line_at(elements: list[Element]) -> int:
    """Where the letter's date line is: the first one-line paragraph before the first
    heading that holds a real date as the letter writes it; NotIssuable if none does."""
    for index, element in enumerate(elements):
        if element.kind == "heading":
            break
        if element.kind != "paragraph" or len(element.lines) != 1:
            continue
        match = _ENGLISH_DATE.search(element.lines[0])
        if match and _valid_date(match):
            return index
    raise NotIssuable("the letter has no date line before its subject heading")


def redated(elements: list[Element], at: int, line: str, lang: str | None = None) -> list[Element]:
    """The elements with the one at `at` (the date line) replaced by `line`."""
    out = list(elements)
    out[at] = Element("paragraph", (line,), lang=lang)
    return out


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.split("\n") if line.strip())


def _welsh_element(english: Element, text: str) -> Element:
    """The Welsh of one English element, in its kind; the English kept where none is given."""
    if not text.strip():
        # An empty row: what stays is the English element, marked as what it is.
        return Element(english.kind, english.lines, english.level, english.lang or "en")
    if text.strip() == english.text.strip():
        # Left as it was (a name, the English correspondence statement): its own language.
        return Element(english.kind, english.lines, english.level, english.lang or "en")
    lines = _lines(text)
    if english.kind == "heading":
        return Element("heading", (" ".join(lines),), english.level)
    if english.kind == "item":
        first = _BULLET.sub("", lines[0])
        return Element("item", (" ".join((first, *lines[1:])).strip(),))
    return Element("paragraph", lines)


def _unpaired(paragraphs: list[str], date_line: str) -> list[Element]:
    out: list[Element] = []
    dated = False
    for text in paragraphs:
        lines = _lines(text)
        if not dated and len(lines) == 1 and _ANY_DATE_LINE.match(lines[0]):
            out.append(Element("paragraph", (date_line,)))
            dated = True
        elif _BULLET.match(lines[0]):
            out.append(Element("item", (" ".join((_BULLET.sub("", lines[0]), *lines[1:])),)))
        else:
            out.append(Element("paragraph", lines))
    if not dated:
        raise NotIssuable("the approved Welsh text has no date line to date the letter by")
    return out


def welsh_elements(
    english: list[Element], paragraphs: list[str], *, date_line: str
) -> list[Element]:
    """The Welsh letter's elements: `paragraphs` (the approved Welsh text) in the English
    letter's structure where they pair with `english`, dated by `date_line`.

    Elements with no `lang` are Welsh (the letter's language); "en" marks what stays
    English, "cy" the English letter's own Welsh.
    """
    kept = [p for p in paragraphs if not _MARKING.match(p.strip())]
    if len(kept) != len(english):
        return _unpaired([p for p in kept if p.strip()], date_line)
    out = [_welsh_element(e, text) for e, text in zip(english, kept, strict=True)]
    return redated(out, date_line_at(english), date_line)
