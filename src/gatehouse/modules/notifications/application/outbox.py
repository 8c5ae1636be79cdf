"""What every outbox's dispatcher does, whatever it delivers (mail, webhooks): claim a batch of
due messages, deliver them while the claims hold their rows, and record the outcomes in the
same transaction: sent, retried later with backoff, or dead after the last attempt. Up to
``concurrency`` messages of a batch are delivered at once, so a dispatcher waits on several
SMTP servers' or endpoints' answers at a time, not one; other dispatchers' batches skip the
locked rows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic

from gatehouse.modules.notifications.application.ports import Claim, DeliveryQueue, M
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
    """Sends due messages. The rows stay locked while they are sent, so no two dispatchers send
    one; a dispatcher that dies mid-batch leaves the batch pending, and its messages are sent
    again (at least once). A batch stopped (cancelled at shutdown, or by a bug in one delivery)
    still records the outcomes of the messages it delivered."""

    BATCH = 25  # messages claimed at once (at least ``concurrency``): two to a call, by default

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
        self._batch = max(self.BATCH, self._concurrency)
        self._queue = queue
        self._deliver = deliver
        self._retries = retries
        self._clock = clock
        self._what = what  # for the log: "mail", "webhook"

    async def __call__(self, max_messages: int = 50) -> DispatchResult:
        """Up to ``max_messages`` messages, a batch at a time; fewer when fewer are due."""
        outcomes: list[str] = []
        while len(outcomes) < max_messages:
            limit = min(self._batch, max_messages - len(outcomes))
            async with self._queue.claim_due(self._clock.now(), limit) as claims:
                failure = await self._batch_of(claims, outcomes)
            if failure is not None:  # after the batch's outcomes were recorded
                raise failure
            if len(claims) < limit:
                break
        return DispatchResult(
            sent=outcomes.count("sent"),
            failed=outcomes.count("failed"),
            dead=outcomes.count("dead"),
            skipped=outcomes.count("skipped"),
        )

    async def _batch_of(self, claims: Sequence[Claim[M]], outcomes: list[str]) -> Exception | None:
        """Deliver ``claims``, ``concurrency`` at a time; the first unexpected error, if any
        (its message is left without an outcome; the others are delivered)."""
        waiting = iter(claims)
        errors: list[Exception] = []

        async def lane() -> None:
            for claim in waiting:
                try:
                    outcomes.append(await self._one(claim))
                except Exception as error:  # noqa: BLE001 - raised once the batch is recorded
                    errors.append(error)

        async with asyncio.TaskGroup() as lanes:
            for _ in range(min(self._concurrency, len(claims))):
                lanes.create_task(lane())
        return errors[0] if errors else None

    async def _one(self, claim: Claim[M]) -> str:
        """Deliver one claimed message and record its outcome on the claim."""
        message = claim.message
        now = self._clock.now()
        try:
            delivered = await self._deliver(message)
        except DeliveryFailed as error:
            attempts = message.attempts + 1
            later = self._retries.retry_at(attempts, now, permanent=error.permanent)
            if later is None:
                claim.mark_dead(error.reason, now)
                log.warning("%s dead-lettered", self._what, extra={"outbox_id": str(message.id)})
                return "dead"
            claim.mark_failed(error.reason, later)
            return "failed"
        claim.mark_sent(self._clock.now())
        return "sent" if delivered else "skipped"
