"""The outbox dispatcher loops, run inside ``serve`` or on their own by ``gatehouse worker``:
one per outbox (mail; webhooks when endpoints are configured)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from gatehouse.modules.notifications.application.outbox import DispatchResult
from gatehouse.shared.errors import Unavailable

log = logging.getLogger("gatehouse.notifications")


class Waitable(Protocol):
    async def wait_for_messages(self, wait_seconds: float) -> None: ...


@dataclass(frozen=True)
class Outbox:
    """One outbox to dispatch: its dispatcher and the queue that wakes it."""

    name: str
    dispatch: Callable[[], Awaitable[DispatchResult]]
    queue: Waitable


async def run_dispatchers(
    outboxes: Iterable[Outbox],
    stop: asyncio.Event,
    *,
    poll_seconds: float,
    grace_seconds: float = 10.0,
) -> None:
    """Dispatch every outbox, each on its own loop, until ``stop`` is set."""
    async with asyncio.TaskGroup() as group:
        for outbox in outboxes:
            group.create_task(
                run_dispatcher(
                    outbox.dispatch,
                    outbox.queue,
                    stop,
                    poll_seconds=poll_seconds,
                    grace_seconds=grace_seconds,
                ),
                name=f"{outbox.name}-dispatcher",
            )


async def run_dispatcher(
    dispatch: Callable[[], Awaitable[DispatchResult]],
    queue: Waitable,
    stop: asyncio.Event,
    *,
    poll_seconds: float,
    grace_seconds: float = 10.0,
) -> None:
    """Send until ``stop`` is set. Sleeps only when nothing is due; wakes on NOTIFY.

    Once ``stop`` is set, a batch being sent has ``grace_seconds`` to finish; then it is
    cancelled: the messages it delivered are recorded, those still in flight go back to the
    queue (no outcome, due at once) for another dispatcher, instead of waiting out a slow SMTP
    server."""
    failures = 0
    while not stop.is_set():
        try:
            result = await _unless_stopped(dispatch, stop, grace_seconds)
            if result is None:
                return
            failures = 0
            if result.handled:
                continue
            await _wait(queue, stop, poll_seconds)
        except asyncio.CancelledError:
            raise
        except (Unavailable, OSError, TimeoutError) as error:
            failures += 1
            log.warning("outbox dispatch paused: %s", type(error).__name__)
            await _sleep(stop, min(30.0, poll_seconds * 2**failures))
        except Exception:
            failures += 1
            log.exception("outbox dispatch failed")
            await _sleep(stop, min(30.0, poll_seconds * 2**failures))


async def _unless_stopped(
    dispatch: Callable[[], Awaitable[DispatchResult]], stop: asyncio.Event, grace: float
) -> DispatchResult | None:
    """``dispatch()``'s result; ``None`` when ``stop`` came and the grace ran out first."""
    batch = asyncio.ensure_future(dispatch())
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({batch, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not batch.done():
            await asyncio.wait({batch}, timeout=grace)
        if batch.done():
            return batch.result()
        batch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await batch
        log.warning("outbox dispatch stopped mid-send: the messages in flight go back to the queue")
        return None
    finally:
        stopper.cancel()
        if not batch.done():  # we were cancelled ourselves
            batch.cancel()


async def _wait(queue: Waitable, stop: asyncio.Event, wait_seconds: float) -> None:
    waiter = asyncio.ensure_future(queue.wait_for_messages(wait_seconds))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiter, stopper):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
