"""Logging: one structured line per event."""

from __future__ import annotations

import logging


def configure(level: int = logging.INFO) -> None:
    """Log to standard error."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
