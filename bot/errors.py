"""The one exception a user can cause: it carries the template that explains it."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Input the bot cannot act on; rendered to the user from `templates/messages/errors/`."""

    def __init__(self, template: str, **data: Any) -> None:
        super().__init__(template)
        self.template = template
        self.data = data

    def __repr__(self) -> str:
        return f"UserError({self.template!r}, {self.data!r})"
