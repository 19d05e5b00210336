"""The Teams SDK's App driven from synchronous code (the sender, the clock)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from handlers.teams import cards

log = logging.getLogger("ciw.teams.sender")

T = TypeVar("T")
CALL_TIMEOUT = 30.0  # seconds for one call to Teams, token included
CONNECT_TIMEOUT = 10.0


class Connector:
    """The SDK's App driven from synchronous code: one event loop thread runs every
    coroutine (the App's HTTP client belongs to that loop); `call` blocks until done."""

    def __init__(self, app: Any, *, timeout: float = CALL_TIMEOUT) -> None:
        self.app = app
        self.timeout = timeout
        self._ready = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="ciw-teams-loop", daemon=True
        )
        self._thread.start()

    def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run `make()` on the loop, within the call timeout; its result or its error."""
        if self._loop.is_closed():
            raise RuntimeError("the Teams sender is closed")
        return asyncio.run_coroutine_threadsafe(self._run(make), self._loop).result()

    async def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        if not self._ready:
            await self.app.initialize()
            # The SDK's HTTP client has no timeout of its own: a hung call would stop the
            # sender for good. Connect fails fast and certainly; the rest may be uncertain.
            self.app.api.http.http.timeout = httpx.Timeout(self.timeout, connect=CONNECT_TIMEOUT)
            self._ready = True
        return await asyncio.wait_for(make(), self.timeout)

    def size(self, activity: dict[str, Any], conversation_id: str) -> int:
        """The activity's size as Teams counts it, as the SDK will send it."""
        return cards.activity_size(self._body(activity, conversation_id))

    def _body(self, activity: dict[str, Any], conversation_id: str) -> dict[str, Any]:
        from microsoft_teams.api import Account, ConversationAccount, MessageActivityInput

        made = MessageActivityInput.model_validate(activity)
        made.from_ = Account(id=self.app.id or "")
        made.conversation = ConversationAccount(id=conversation_id)
        return made.model_dump(by_alias=True, exclude_none=True)

    def post(self, conversation_id: str, activity: dict[str, Any], service_url: str) -> str:
        """Send a new activity; the id Teams gave it."""
        from microsoft_teams.api import MessageActivityInput

        async def send() -> str:
            made = MessageActivityInput.model_validate(activity)
            sent = await self.app.send(conversation_id, made, service_url=service_url)
            return str(sent.id)

        return self.call(send)

    def update(
        self, conversation_id: str, activity_id: str, activity: dict[str, Any], service_url: str
    ) -> str:
        """Replace an activity in place (PUT); its id."""
        from microsoft_teams.api import MessageActivityInput

        async def send() -> str:
            made = MessageActivityInput.model_validate({**activity, "id": activity_id})
            sent = await self.app.send(conversation_id, made, service_url=service_url)
            return str(sent.id or activity_id)

        return self.call(send)

    def create_personal(self, teams_id: str, tenant_id: str, service_url: str) -> str:
        """The bot's 1:1 chat with a member (Teams answers the existing one if there is one)."""
        from microsoft_teams.api import Account, CreateConversationParams

        async def create() -> str:
            api = self.app.api.clone(service_url=service_url)
            made = await api.conversations.create(
                CreateConversationParams(
                    members=[Account(id=teams_id)],
                    tenant_id=tenant_id,
                    channel_data={"tenant": {"id": tenant_id}},
                )
            )
            return str(made.id)

        return self.call(create)

    def close(self) -> None:
        """Close the HTTP client and stop the loop (idempotent)."""
        if self._loop.is_closed():
            return

        async def shut() -> None:
            if self._ready:
                await self.app.api.http.http.aclose()

        try:
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(timeout=10)
        except Exception:  # closing must go on whatever the client says
            log.exception("closing the Teams HTTP client failed")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
