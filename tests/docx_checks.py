"""An accessible Word document, checked as a public body must publish it: what an issued
letter's final files are held to (tests/bot/letters/test_accessibility.py shows each check
failing on a document made with that one fault).

`faults(data, …)` opens the .docx and returns every fault found, each with its kind:
- "properties": no title, or no language, in the document's properties;
- "language": a paragraph (body, headers, footers, their tables) whose mark or any run with
  text does not say its language, or says another than expected;
- "heading": the first heading not level 1, or a level skipped going down; or no heading;
- "list": a typed bullet, or a list-styled paragraph that is not in a real Word list
  (numPr naming a numbering definition the document has);
- "empty": an empty paragraph (spacing made of blank lines), except the end mark Word
  keeps after a table that ends a header or footer;
- "letterhead": the letterhead's blocks of lines not all there as text in the first
  page's header, in the expected order, or a picture in a header or footer;
- "draft": a draft's marking left anywhere in the package (text, headers, properties,
  styles).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import docx
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.ns import qn

LANGUAGES = {"en-GB", "cy-GB"}
TYPED_BULLET = re.compile(r"^\s*[\u2022\u00b7\u25aa\u25cf\u2023\u2043\u2013*-]\s")
DRAFT = re.compile(r"draf+t", re.IGNORECASE)  # DRAFT, Draft, DRAFFT (Welsh)
HEADING = re.compile(r"^Heading ([1-9])$")
PICTURES = ("w:drawing", "w:pict", "w:object")


@dataclass(frozen=True)
class Fault:
    """One fault: its kind (see the module's list) and where it is, for the failure message."""

    kind: str
    where: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}"


def _text(paragraph) -> str:
    """A paragraph's text as Word shows it (line breaks as newlines)."""
    out = []
    for node in paragraph.iter(qn("w:t"), qn("w:br"), qn("w:tab")):
        if node.tag == qn("w:t"):
            out.append(node.text or "")
        elif node.tag == qn("w:br"):
            out.append("\n")
        else:
            out.append("\t")
    return "".join(out)


def _lang(properties) -> str | None:
    found = properties.find(qn("w:lang")) if properties is not None else None
    return found.get(qn("w:val")) if found is not None else None


def _stories(document) -> list[tuple[str, object]]:
    """The body and every header and footer part, each with a name for messages."""
    stories = [("body", document.element.body)]
    for rel in document.part.rels.values():
        if rel.reltype in (RELATIONSHIP_TYPE.HEADER, RELATIONSHIP_TYPE.FOOTER):
            stories.append((str(rel.target_part.partname), rel.target_part.element))
    return stories


def _languages(
    document, expected: Mapping[str, str], default: str, fixed: Mapping[object, str]
) -> list[Fault]:
    found = []
    for story, root in _stories(document):
        for paragraph in root.iter(qn("w:p")):
            text = _text(paragraph)
            want = fixed.get(paragraph) or expected.get(text.strip(), default)
            where = f"{story}: {text.strip()[:60]!r}"
            mark = _lang(paragraph.find(f"{qn('w:pPr')}/{qn('w:rPr')}"))
            if mark != want:
                found.append(Fault("language", f"{where} mark is {mark}, not {want}"))
            for run in paragraph.iter(qn("w:r")):
                if not "".join(t.text or "" for t in run.iter(qn("w:t"))).strip():
                    continue
                lang = _lang(run.find(qn("w:rPr")))
                if lang != want:
                    found.append(Fault("language", f"{where} a run is {lang}, not {want}"))
                    break
    return found


def _headings(document, required: bool) -> list[Fault]:
    levels = []
    for paragraph in document.paragraphs:
        match = HEADING.match(paragraph.style.name or "")
        if match:
            levels.append((int(match.group(1)), paragraph.text))
    found = []
    if required and not levels:
        found.append(Fault("heading", "the document has no heading"))
    previous = 0
    for level, text in levels:
        if level > previous + 1:
            found.append(Fault("heading", f"{text[:60]!r} is level {level} after {previous}"))
        previous = level
    return found


def _lists(document) -> list[Fault]:
    numbering = document.part.numbering_part.element
    defined = {n.get(qn("w:numId")) for n in numbering.iter(qn("w:num"))}
    found = []
    for story, root in _stories(document):
        for paragraph in root.iter(qn("w:p")):
            text = _text(paragraph)
            if TYPED_BULLET.match(text):
                found.append(Fault("list", f"{story}: typed bullet {text[:60]!r}"))
    for paragraph in document.paragraphs:
        if not (paragraph.style.name or "").startswith("List"):
            continue
        num = paragraph._p.find(f"{qn('w:pPr')}/{qn('w:numPr')}/{qn('w:numId')}")
        num_id = num.get(qn("w:val")) if num is not None else None
        if num_id in (None, "0") or num_id not in defined:
            found.append(Fault("list", f"{paragraph.text[:60]!r} is in no Word list"))
    return found


def _empty(document) -> list[Fault]:
    found = []
    for story, root in _stories(document):
        for paragraph in root.iter(qn("w:p")):
            if _text(paragraph).strip() or any(
                next(paragraph.iter(qn(tag)), None) is not None
                for tag in ("w:fldChar", "w:fldSimple", *PICTURES)
            ):
                continue
            previous = paragraph.getprevious()
            end_mark = (
                story != "body"
                and paragraph.getparent() is root
                and paragraph.getnext() is None
                and previous is not None
                and previous.tag == qn("w:tbl")
            )
            if not end_mark:
                found.append(Fault("empty", f"{story}: an empty paragraph"))
    return found


def _letterhead(
    document, blocks: Sequence[tuple[str, Sequence[str]]], default: str
) -> tuple[list[Fault], dict[object, str]]:
    """Faults of the letterhead, and the language each of its paragraphs must have."""
    found = []
    for story, root in _stories(document):
        if story != "body" and any(next(root.iter(qn(t)), None) is not None for t in PICTURES):
            found.append(Fault("letterhead", f"{story}: a picture in a header or footer"))
    if not blocks:
        return found, {}
    section = document.sections[0]
    if not section.different_first_page_header_footer:
        return [*found, Fault("letterhead", "no first-page header")], {}
    paragraphs = list(section.first_page_header._element.iter(qn("w:p")))
    texts = [_text(p).strip() for p in paragraphs]
    languages: dict[object, str] = {}
    position = 0
    for language, lines in blocks:
        # Each block's lines one after another, each block after the one before it.
        start = next(
            (i for i in range(position, len(texts)) if texts[i : i + len(lines)] == list(lines)),
            None,
        )
        if start is None:
            found.append(
                Fault("letterhead", f"{lines[0]!r} … is not text in the first page's header here")
            )
            continue
        for paragraph in paragraphs[start : start + len(lines)]:
            languages[paragraph] = language or default
        position = start + len(lines)
    return found, languages


def _draft(data: bytes) -> list[Fault]:
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for name in package.namelist():
            if DRAFT.search(package.read(name).decode("utf-8", "replace")):
                found.append(Fault("draft", f"{name} holds a draft's marking"))
    return found


def faults(
    data: bytes,
    *,
    letterhead: Sequence[tuple[str, Sequence[str]]] = (),
    expected_languages: Mapping[str, str] | None = None,
    headings_required: bool = True,
    final: bool = True,
) -> list[Fault]:
    """Every accessibility fault of the .docx `data`.

    `letterhead`: its blocks in reading order, each (its language, "" for the document's;
    its lines), that must be text in the first page's header, a paragraph a line;
    `expected_languages`: a paragraph's (stripped) text → its language, every other
    paragraph being in the document's language (its properties'); `final`: a final file,
    which carries no draft marking anywhere.
    """
    document = docx.Document(io.BytesIO(data))
    properties = document.core_properties
    found = []
    if not (properties.title or "").strip():
        found.append(Fault("properties", "no title"))
    language = properties.language or ""
    if language not in LANGUAGES:
        found.append(Fault("properties", f"the document's language is {language!r}"))
    letterhead_faults, fixed = _letterhead(document, letterhead, language)
    found += _languages(document, expected_languages or {}, language, fixed)
    found += _headings(document, headings_required)
    found += _lists(document)
    found += _empty(document)
    found += letterhead_faults
    if final:
        found += _draft(data)
    return found


def assert_accessible(data: bytes, **options) -> None:
    """Fail with every fault listed, if there is any."""
    found = faults(data, **options)
    assert not found, "\n".join(str(f) for f in found)
