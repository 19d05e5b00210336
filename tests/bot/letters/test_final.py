"""The letter as issued, before it is a Word file: the date line found and written again in
English and Welsh, and the Welsh letter's elements from the approved Welsh paragraphs."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.letters.final import NotIssuable, date_line_at, redated, welsh_elements
from bot.letters.render import Element, parse
from bot.render import Templates

LETTER = """Alwyn Jones
Director of Social Services

Date: 03 August 2020

Dear Alwyn Jones,

# Performance Review April 2019 - March 2020

- performance review meeting, 10 April 2019

Yours sincerely,
"""


def date_line(day: dt.date, lang: str) -> str:
    return Templates().letter("date_line", day=day, lang=lang).strip()


@pytest.mark.parametrize(
    ("day", "english", "welsh"),
    [
        (dt.date(2026, 12, 3), "Date: 03 December 2026", "Dyddiad: 3 Rhagfyr 2026"),
        (dt.date(2020, 8, 3), "Date: 03 August 2020", "Dyddiad: 3 Awst 2020"),
        (dt.date(2021, 1, 15), "Date: 15 January 2021", "Dyddiad: 15 Ionawr 2021"),
        (dt.date(2021, 6, 30), "Date: 30 June 2021", "Dyddiad: 30 Mehefin 2021"),
    ],
)
def test_the_date_line_in_each_language(day, english, welsh):
    assert (date_line(day, "en"), date_line(day, "cy")) == (english, welsh)


def test_the_date_line_is_the_dated_paragraph_before_the_subject():
    elements = parse(LETTER)
    at = date_line_at(elements)
    assert elements[at].text == "Date: 03 August 2020"
    issued = redated(elements, at, date_line(dt.date(2020, 12, 3), "en"))
    assert [e.text for e in issued] == [
        "Date: 03 December 2020" if n == at else e.text for n, e in enumerate(elements)
    ]
    # A date in the list after the subject is not the letter's date; nor is no date at all.
    with pytest.raises(NotIssuable, match="no date line"):
        date_line_at(parse(LETTER.replace("Date: 03 August 2020", "Dated today")))
    with pytest.raises(NotIssuable):
        date_line_at(parse(LETTER.replace("03 August", "31 February")))


def test_welsh_rows_take_their_elements_kinds_and_languages():
    english = parse(LETTER)
    welsh = [
        "Alwyn Jones\nCyfarwyddwr Gwasanaethau Cymdeithasol",
        "Dyddiad: 03 Awst 2020",
        "",  # left empty: the English stays, marked English
        "Adolygiad Perfformiad Ebrill 2019 - Mawrth 2020",
        "\u2022 cyfarfod adolygu perfformiad, 10 Ebrill 2019",
        "Yn gywir,",
    ]
    out = welsh_elements(english, welsh, date_line="Dyddiad: 3 Rhagfyr 2020")
    assert out == [
        Element("paragraph", ("Alwyn Jones", "Cyfarwyddwr Gwasanaethau Cymdeithasol")),
        Element("paragraph", ("Dyddiad: 3 Rhagfyr 2020",)),
        Element("paragraph", ("Dear Alwyn Jones,",), lang="en"),
        Element("heading", ("Adolygiad Perfformiad Ebrill 2019 - Mawrth 2020",), 1),
        Element("item", ("cyfarfod adolygu perfformiad, 10 Ebrill 2019",)),
        Element("paragraph", ("Yn gywir,",)),
    ]
