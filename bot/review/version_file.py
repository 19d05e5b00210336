"""A draft version's letter as a Word file: its name, its title and its bytes.

The same file whichever way it reaches people: Slack uploads it into the draft's thread,
a download link (`bot.review.file_links`) serves it. Only the version's stored body is read, so
the file of a version is the letter as it was when the version was made; the dates in
the document's properties are when the file is made.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.letters import render
from bot.letters.docx import to_docx
from bot.letters.template import load_template
from bot.records.dates import ReviewYear
from bot.review import tally
from bot.runtime import Runtime
from db.models import DraftVersion

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class VersionFile:
    """A version's .docx: the file's name, the document's title, and its content."""

    filename: str
    title: str
    content: bytes


def is_approved(version: DraftVersion) -> bool:
    """Whether the version stands approved (its file then carries no DRAFT marking)."""
    return version.approved_at is not None


def filename(version: DraftVersion, *, approved: bool) -> str:
    """The file's name: `ciw-letter-<authority>-<year>-v<N>[-approved].docx`, plain ASCII."""
    draft = version.draft
    year = ReviewYear(draft.review_year).label
    suffix = "-approved" if approved else ""
    return f"ciw-letter-{draft.authority.slug}-{year}-v{version.number}{suffix}.docx"


def version_docx(
    runtime: Runtime, version: DraftVersion, *, approved: bool | None = None
) -> VersionFile:
    """The version's .docx, laid out by CIW_LETTER_TEMPLATE.

    `approved` says which file: the approved letter (no DRAFT marking) or the draft
    ("DRAFT – version N"); None takes it from the version's record. Slack passes it
    explicitly, since it uploads a version's draft file before any approval.
    """
    if approved is None:
        approved = is_approved(version)
    draft = version.draft
    title = runtime.templates.letter(
        "file_title",
        council=draft.authority.english_name,
        year=ReviewYear(draft.review_year),
        version=version,
        approved=approved,
    ).strip()
    content = to_docx(
        render.parse(version.body),
        title=title,
        subject=tally.APPROVED if approved else "draft for review",
        template=load_template(runtime.settings.letter_template),
        version=version.number,
        approved=approved,
        now=runtime.now(),
    )
    return VersionFile(filename(version, approved=approved), title, content)
