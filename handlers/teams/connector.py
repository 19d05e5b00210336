"""The Teams sender's App on an event loop of its own: driven from synchronous code (the
sender, the clock), and running the work handed over after the server's answers."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from bot.answering import Answering
from handlers.teams import cards

log = logging.getLogger("ciw.teams.sender")

T = TypeVar("T")
CALL_TIMEOUT = 30.0  # seconds for one call to Teams, token included
CONNECT_TIMEOUT = 10.0
# Work handed over from the server (the answers to commands) runs a few at a time, taken
# in order from a plain queue: each is a short chain of calls, and a long queue in the
# HTTP client's pool (or a task per waiting piece) costs more to serve than it saves.
WORK_SLOTS = 4
WORK_TIMEOUT = 120.0  # seconds for one piece of it, every call within its own timeout


class Connector:
    """The SDK's App on one event loop thread that runs every coroutine of it (the App's
    HTTP client belongs to that loop): `call` blocks until done, `submit` queues work."""

    def __init__(
        self, app: Any, *, timeout: float = CALL_TIMEOUT, answering: Answering | None = None
    ) -> None:
        self.app = app
        self.timeout = timeout
        self.answering = answering or Answering()
        self._ready = False
        self._queue: collections.deque[tuple[Callable[[], Awaitable[Any]], Any]] = (
            collections.deque()
        )
        self._workers = 0  # how many take work from the queue (on the loop only)
        self._starting: asyncio.Lock | None = None
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

    def submit(self, make: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """Run `make()` on the loop once the work before it has started, one of the work
        slots is free and no request is being answered (`bot.answering`), without
        waiting for it: its outcome comes in the future returned."""
        if self._loop.is_closed():
            raise RuntimeError("the Teams sender is closed")
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.append((make, done))
        if self._workers < WORK_SLOTS:
            # Else a busy worker takes it next (and one that stops looks again): under a
            # burst, no wake-up of the loop's thread per piece.
            self._loop.call_soon_threadsafe(self._more_workers)
        return done

    def _more_workers(self) -> None:
        while self._workers < WORK_SLOTS and self._workers < len(self._queue):
            self._workers += 1
            self._loop.create_task(self._worker())

    async def _worker(self) -> None:
        try:
            while self._queue:
                make, done = self._queue.popleft()
                if not done.set_running_or_notify_cancel():
                    continue
                try:
                    await self.answering.paused()  # acknowledgements first
                    await self._ready_app()
                    done.set_result(await asyncio.wait_for(make(), WORK_TIMEOUT))
                except Exception as error:  # noqa: BLE001 - the future carries it to its follower
                    done.set_exception(error)
        finally:
            self._workers -= 1
            self._more_workers()  # for a piece queued as this one stopped

    async def _ready_app(self) -> None:
        if self._ready:
            return
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:  # the first caller initialises; the others wait for it
            if not self._ready:
                await self.app.initialize()
                # The SDK's HTTP client has no timeout of its own: a hung call would stop the
                # sender for good. Connect fails fast, certainly; the rest may be uncertain.
                timeout = httpx.Timeout(self.timeout, connect=CONNECT_TIMEOUT)
                self.app.api.http.http.timeout = timeout
                self._ready = True

    async def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        await self._ready_app()
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
        while self._queue:  # work never started: whoever follows it is told
            self._queue.popleft()[1].cancel()
