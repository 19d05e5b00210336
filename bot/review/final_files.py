"""The final files of an issued letter: the English letter and, where the authority
corresponds in Welsh (`cy` or `both`), the Welsh letter, as accessible Word documents.

Both are laid out by CIW_LETTER_TEMPLATE (the bilingual letterhead, Welsh first), dated the
issue date, with no DRAFT marking in the text, the headers or the properties. The English
file is the approved version's stored text; the Welsh one is made of the approved Welsh
text of that version (`bot.letters.final`), never of a revision not approved. Each file
names its language on every paragraph, has the letter's headings and lists as Word's, and
a title in its own language.

Both files are named with the council's English name (`Wrexham County Borough Council
2019-20 performance review letter.docx` and `… (Cymraeg).docx`) so they sort side by side
wherever they are saved; the Welsh file's title (its properties) uses the Welsh name. The
names and titles are `templates/letters/final_name.j2` and `final_title.j2`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.letters import render
from bot.letters.docx import to_docx
from bot.letters.final import NotIssuable, date_line_at, redated, welsh_elements
from bot.letters.render import Element
from bot.letters.template import load_template
from bot.records.dates import ReviewYear
from bot.review import translation
from bot.runtime import Runtime
from db.models import DraftVersion

__all__ = ["FinalFile", "NotIssuable", "final_files"]

# What no file name may hold on the systems the files are saved to (Windows the strictest).
_NOT_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass(frozen=True)
class FinalFile:
    """One final file: its language ("en" or "cy"), file name, title and bytes."""

    language: str
    name: str
    title: str
    content: bytes


def _subject(elements: list[Element]) -> str:
    # The letter's subject line (its first heading) is the document's subject.
    return next((e.text for e in elements if e.kind == "heading"), "")


def _one(
    runtime: Runtime, version: DraftVersion, language: str, elements: list[Element]
) -> FinalFile:
    draft = version.draft
    authority = draft.authority
    names = {
        "lang": language,
        "council": authority.english_name,
        "welsh_council": authority.welsh_name,
        "year": ReviewYear(draft.review_year),
    }
    title = runtime.templates.letter("final_title", **names).strip()
    name = _NOT_IN_NAMES.sub("-", runtime.templates.letter("final_name", **names).strip())
    content = to_docx(
        elements,
        title=title,
        subject=_subject(elements),
        template=load_template(runtime.settings.letter_template),
        version=version.number,
        approved=True,
        now=runtime.now(),
        language=language,
    )
    return FinalFile(language, name, title, content)


def final_files(
    runtime: Runtime, session: Session, version: DraftVersion, *, issued_on: dt.date
) -> list[FinalFile]:
    """The final files of `version` issued on `issued_on`: English first, then Welsh if the
    authority's language is `cy` or `both`.

    NotIssuable if the version is not approved, if a Welsh letter is owed and its Welsh text
    is not approved (its newest revision), or if the letter has no date line to date.
    """
    if version.approved_at is None:
        raise NotIssuable(f"version {version.number} is not approved")
    english = render.parse(version.body)
    at = date_line_at(english)

    def date_line(lang: str) -> str:
        return runtime.templates.letter("date_line", day=issued_on, lang=lang).strip()

    files = [_one(runtime, version, "en", redated(english, at, date_line("en")))]
    if translation.needs_welsh(version.draft):
        owed = translation.for_version(session, version.id)
        text = translation.latest(owed) if owed is not None else None
        if text is None or text.approved_at is None:
            raise NotIssuable(f"the Welsh text of version {version.number} is not approved")
        welsh = welsh_elements(english, list(text.paragraphs), date_line=date_line("cy"))
        files.append(_one(runtime, version, "cy", welsh))
    return files
