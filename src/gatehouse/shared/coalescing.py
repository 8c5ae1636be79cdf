"""Join concurrent lookups into one call (the DataLoader pattern).

A per-request check that costs one network round trip costs mostly the round trip: the client
library, two system calls and an event-loop wake-up, whatever the number of keys. While one
call is in flight, the lookups that arrive wait for the next call, which carries all of them. An
idle process pays one round trip per lookup, as before; a busy one pays one per batch. Every
lookup is still answered by a call sent after it arrived, so nothing is served from the past.

``SingleFlight`` is the other kind: callers that may share an answer already on its way (a
document fetched for a cache) join the call in flight instead of waiting for the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_BATCH = 256


class Coalescer(Generic[K, V]):
    """``await coalescer.get(key)`` answers through ``load(keys)``, one call in flight at a time.

    ``load`` returns one value per key, in order. If it raises, every lookup in that batch gets
    the exception.
    """

    def __init__(self, load: Callable[[list[K]], Awaitable[Sequence[V]]]) -> None:
        self._load = load
        self._pending: list[tuple[K, asyncio.Future[V]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending.append((key, future))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                try:
                    values = await self._load([key for key, _ in batch])
                    if len(values) != len(batch):
                        raise RuntimeError(f"{len(values)} values for {len(batch)} keys")
                except asyncio.CancelledError:
                    for _, future in batch:
                        future.cancel()
                    raise
                except Exception as error:  # noqa: BLE001 - handed to every waiter
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), value in zip(batch, values, strict=True):
                    if not future.done():  # its request may have been cancelled meanwhile
                        future.set_result(value)
        finally:
            self._drainer = None
            for _, future in self._pending:  # left only when cancelled: shutdown
                future.cancel()
            self._pending.clear()


class SingleFlight(Generic[V]):
    """``await flight.run()`` starts ``call()``, or joins the call already in flight.

    For an answer every caller may share, such as a document fetched for a cache (an OpenID
    provider's discovery document or JWKS): unlike :class:`Coalescer`, a caller that arrives
    while a call runs takes that call's answer, since a document fetched a moment ago serves
    it as well as a new one would. A caller that is cancelled leaves the call running for the
    others; every caller of a call that raises gets the exception.
    """

    def __init__(self, call: Callable[[], Coroutine[Any, Any, V]]) -> None:
        self._call = call
        self._task: asyncio.Task[V] | None = None

    async def run(self) -> V:
        task = self._task
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.create_task(self._call())
            self._task = task
            task.add_done_callback(self._landed)
        return await asyncio.shield(task)

    def _landed(self, task: asyncio.Task[V]) -> None:
        if self._task is task:
            self._task = None
        if not task.cancelled():
            task.exception()  # retrieved here, so a call every caller left raises nowhere
