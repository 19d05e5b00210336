"""The letter without Slack: `ciw-bot draft-letter <authority> [--year Y] [--out F] [--format]`."""

from __future__ import annotations

from pathlib import Path

from bot.letters import assemble, render
from bot.letters.docx import to_docx
from bot.letters.template import load_template
from bot.records import authorities
from bot.records.dates import ReviewYear, parse_year
from bot.runtime import Runtime


def export_letter(
    runtime: Runtime, authority: str, year: str | None, out: str | None, fmt: str
) -> str:
    """The letter as text or Markdown to print, or written as .docx to `out` (a confirmation).

    Raises UserError for an unknown authority or a malformed year, as the command does.
    """
    with runtime.transaction() as session:
        found = authorities.resolve(session, authority)
        review_year = parse_year(year) if year else ReviewYear.last_ended(runtime.today())
        letter = assemble.assemble(
            session, found, review_year, today=runtime.today(), settings=runtime.settings
        )
    elements = render.elements_of(runtime.templates, letter)
    if out:
        path = Path(out)
        title = f"Draft letter {letter.addressee.council} {review_year.label}"
        content = to_docx(
            elements,
            title=title,
            subject="draft",
            template=load_template(runtime.settings.letter_template),
            now=runtime.now(),
        )
        path.write_bytes(content)
        return runtime.templates.letter(
            "export_written",
            year=review_year,
            council=letter.addressee.council,
            path=path,
            activities=letter.activity_count,
            findings=letter.finding_count,
        ).strip()
    if fmt == "md":
        return render.to_markdown(elements)
    return render.to_text(elements)
