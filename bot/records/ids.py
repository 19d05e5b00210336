"""Record ids as shown and typed: `A12` for an activity, `F7` for a finding, `N3` for a note,
`P4` for progress on an area for improvement."""

from __future__ import annotations

import re

from bot.errors import UserError

_ID = re.compile(r"^#?([AaFfNnPp])(\d{1,9})$")


def looks_like_id(token: str, prefix: str = "AF") -> bool:
    """Whether a word is a record id (`A12`, `#F7`) of one of these kinds."""
    match = _ID.match(token.strip())
    return bool(match) and match.group(1).upper() in prefix


def parse_id(token: str, kinds: str = "AF") -> tuple[str, int]:
    """(kind letter, number) from `A12`, `#a12`, `F7`, `N3`, `P4`, for the `kinds` allowed;
    UserError for anything else."""
    match = _ID.match(token.strip())
    if not match or match.group(1).upper() not in kinds:
        raise UserError("bad_id", value=token, kinds=kinds)
    return match.group(1).upper(), int(match.group(2))


def activity_ref(activity_id: int) -> str:
    return f"A{activity_id}"


def finding_ref(finding_id: int) -> str:
    return f"F{finding_id}"


def note_ref(note_id: int) -> str:
    return f"N{note_id}"


def progress_ref(progress_id: int) -> str:
    return f"P{progress_id}"
