"""The outbox dispatcher loop, run inside ``serve`` or on its own by ``gatehouse worker``."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gatehouse.modules.notifications.application.dispatch import DispatchOutboxHandler
from gatehouse.modules.notifications.application.ports import OutboxStore
from gatehouse.shared.errors import Unavailable

log = logging.getLogger("gatehouse.notifications")


async def run_dispatcher(
    dispatch: DispatchOutboxHandler,
    store: OutboxStore,
    stop: asyncio.Event,
    *,
    poll_seconds: float,
) -> None:
    """Send mail until ``stop`` is set. Sleeps only when nothing is due; wakes on NOTIFY."""
    failures = 0
    while not stop.is_set():
        try:
            result = await dispatch()
            failures = 0
            if result.handled:
                continue
            await _wait(store, stop, poll_seconds)
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


async def _wait(store: OutboxStore, stop: asyncio.Event, wait_seconds: float) -> None:
    waiter = asyncio.ensure_future(store.wait_for_mail(wait_seconds))
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
