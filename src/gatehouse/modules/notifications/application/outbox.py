"""What every outbox's dispatcher does, whatever it delivers (mail, webhooks): claim one due
message at a time, deliver it while the claim holds its row, and record the outcome in the same
transaction: sent, retried later with backoff, or dead after the last attempt."""

from __future__ import annotations

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
    ) -> None:
        self._queue = queue
        self._deliver = deliver
        self._retries = retries
        self._clock = clock
        self._what = what  # for the log: "mail", "webhook"

    async def __call__(self, max_messages: int = 50) -> DispatchResult:
        sent = failed = dead = skipped = 0
        for _ in range(max_messages):
            async with self._queue.claim_next(self._clock.now()) as claim:
                if claim is None:
                    break
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
                        dead += 1
                    else:
                        await claim.mark_failed(error.reason, later)
                        failed += 1
                    continue
                await claim.mark_sent(self._clock.now())
                if delivered:
                    sent += 1
                else:
                    skipped += 1
        return DispatchResult(sent=sent, failed=failed, dead=dead, skipped=skipped)
