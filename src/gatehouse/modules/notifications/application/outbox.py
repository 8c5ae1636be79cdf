"""What every outbox's dispatcher does, whatever it delivers (mail, webhooks): claim a due
message, deliver it while the claim holds its row, and record the outcome in the same
transaction: sent, retried later with backoff, or dead after the last attempt. Up to
``concurrency`` claims run at once, each on its own row (claims skip locked rows), so a
dispatcher waits on several SMTP servers' or endpoints' answers at a time, not one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic

from gatehouse.modules.notifications.application.ports import DeliveryQueue, M
from gatehouse.modules.notifications.domain.errors import DeliveryFailed
from gatehouse.modules.notifications.domain.model import RetryPolicy
from gatehouse.shared.clock import Clock

log = logging.getLogger("gatehouse.notifications")


@dataclass(frozen=True, slots=True)
class DispatchResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0  # done with nothing to send (a mail request for an unknown address)

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.dead + self.skipped


Deliver = Callable[[M], Awaitable[bool]]
"""Deliver one message: ``True`` when sent, ``False`` when there was nothing to send; raises
``DeliveryFailed`` (``permanent`` when retrying cannot help)."""


class OutboxDispatcher(Generic[M]):
    """Sends due messages. The row stays locked while it is sent, so no two dispatchers send it;
    a dispatcher that dies mid-send leaves it pending, and it is sent again (at least once)."""

    def __init__(
        self,
        *,
        queue: DeliveryQueue[M],
        deliver: Deliver[M],
        retries: RetryPolicy,
        clock: Clock,
        what: str,
        concurrency: int = 1,
    ) -> None:
        self._concurrency = max(1, concurrency)
        self._queue = queue
        self._deliver = deliver
        self._retries = retries
        self._clock = clock
        self._what = what  # for the log: "mail", "webhook"

    async def __call__(self, max_messages: int = 50) -> DispatchResult:
        """Up to ``max_messages`` messages, ``concurrency`` at a time; fewer when none is due."""
        outcomes: list[str] = []
        budget = [max_messages]

        async def lane() -> None:
            while budget[0] > 0:
                budget[0] -= 1
                outcome = await self._one()
                if outcome is None:
                    return
                outcomes.append(outcome)

        async with asyncio.TaskGroup() as lanes:
            for _ in range(min(self._concurrency, max_messages)):
                lanes.create_task(lane())
        return DispatchResult(
            sent=outcomes.count("sent"),
            failed=outcomes.count("failed"),
            dead=outcomes.count("dead"),
            skipped=outcomes.count("skipped"),
        )

    async def _one(self) -> str | None:
        """Claim, deliver and record one due message; None when none is due."""
        async with self._queue.claim_next(self._clock.now()) as claim:
            if claim is None:
                return None
            message = claim.message
            now = self._clock.now()
            try:
                delivered = await self._deliver(message)
            except DeliveryFailed as error:
                attempts = message.attempts + 1
                later = self._retries.retry_at(attempts, now, permanent=error.permanent)
                if later is None:
                    await claim.mark_dead(error.reason, now)
                    log.warning(
                        "%s dead-lettered", self._what, extra={"outbox_id": str(message.id)}
                    )
                    return "dead"
                await claim.mark_failed(error.reason, later)
                return "failed"
            await claim.mark_sent(self._clock.now())
            return "sent" if delivered else "skipped"
