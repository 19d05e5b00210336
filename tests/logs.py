"""Log lines as an operator reads them: `bot.logging_setup.configure` writing to a buffer."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bot import logging_setup

MARKER = "…[999999999 more characters]"  # the longest a field's cut marker can be
TRACEBACK_SLACK = 100  # a traceback's marker and the new lines around it


@contextlib.contextmanager
def captured(secrets: Sequence[str] = ()) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every record, as the bot writes it, into a buffer; yields a function returning the
    lines so far, each checked to be one JSON object within the caps."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    logging_setup.configure(logging.INFO, stream=stream, secrets=secrets)

    def lines() -> list[dict[str, Any]]:
        return [bounded(line) for line in stream.getvalue().splitlines()]

    try:
        yield lines
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def bounded(text: str) -> dict[str, Any]:
    """One log line parsed, after checking that no field is over its cap."""
    line = json.loads(text)
    assert isinstance(line, dict), text[:200]
    for key, value in line.items():
        if key in {"exc", "stack"}:
            assert len(value) <= logging_setup.TRACEBACK_CAP + TRACEBACK_SLACK, (key, value[:200])
        else:
            assert len(str(value)) <= logging_setup.FIELD_CAP + len(MARKER), (key, value[:200])
    return line


def leaked(lines: list[dict[str, Any]], fragments: Sequence[str]) -> list[str]:
    """The fragments of typed text that any line holds, in any field (case ignored)."""
    everything = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).lower()
    return [fragment for fragment in fragments if fragment.lower() in everything]
