"""The Word template CIW owns (`CIW_LETTER_TEMPLATE`): found, read and checked once.

Apart from `bot.letters.docx` so the settings can check it at start without loading the
letter's renderer (which reads the settings).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zipfile import BadZipFile

from docx import Document
from docx.opc.exceptions import PackageNotFoundError
from lxml.etree import XMLSyntaxError

SHIPPED_TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "letters" / "ciw-letter.docx"
# The styles the letter is written with: an operator's template must define them.
REQUIRED_STYLES = ("Normal", "Heading 1", "Heading 2", "Heading 3", "List Bullet")


class TemplateError(Exception):
    """The letter template cannot be used; the message is one line saying why."""


@dataclass(frozen=True)
class LetterTemplate:
    """A checked Word template: its bytes, and the style ids the letter uses in it."""

    path: Path
    content: bytes
    style_ids: dict[str, str]


@lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> LetterTemplate:
    try:
        content = path.read_bytes()
    except OSError as error:
        raise TemplateError(f"cannot read it ({error.strerror})") from None
    try:
        document = Document(io.BytesIO(content))
    except (PackageNotFoundError, BadZipFile, KeyError, ValueError, XMLSyntaxError) as error:
        # What python-docx raises for a file that is not a zip, a zip that is no Word file,
        # or a Word file whose XML is broken.
        raise TemplateError(f"it is not a Word .docx file ({type(error).__name__})") from None
    styles = {s.name: s.style_id for s in document.styles if s.name}
    missing = [name for name in REQUIRED_STYLES if name not in styles]
    if missing:
        raise TemplateError(f"it has no style named {', '.join(repr(m) for m in missing)}")
    return LetterTemplate(path, content, styles)


def load_template(path: str | Path | None = None) -> LetterTemplate:
    """The letter template at `path` (the shipped one when None), read and checked once
    per version of the file; TemplateError (one line) when it cannot be used."""
    path = Path(path) if path else SHIPPED_TEMPLATE
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as error:
        raise TemplateError(f"{path}: cannot read it ({error.strerror})") from None
    try:
        return _load(path.resolve(), mtime)
    except TemplateError as error:
        raise TemplateError(f"{path}: {error}") from None
