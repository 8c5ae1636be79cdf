"""Fakes for the notifications module's ports.

Contracts: tests/contract/test_mail_outbox.py, tests/contract/test_mail_caps.py and
tests/contract/test_outbox_store.py (the queue both in-memory outboxes share).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Generic

from gatehouse.modules.notifications.application.ports import (
    Claim,
    M,
    MailTransport,
    OutboxStore,
    WebhookQueue,
    WebhookSender,
)
from gatehouse.modules.notifications.application.public import (
    MailCaps,
    MailOutbox,
    MailPurpose,
    OutgoingMail,
    WebhookSubscribers,
)
from gatehouse.modules.notifications.domain.errors import DeliveryFailed
from gatehouse.modules.notifications.domain.model import OutboxMessage, RenderedMail, SealedParams
from gatehouse.modules.notifications.domain.webhooks import WebhookMessage


class InMemoryMailOutbox(MailOutbox):
    """The outbox of one transaction, as ``SqlAlchemyMailOutbox`` is the outbox of one session.

    ``mails`` is the outbox table: what a dispatcher would send, in the order it was enqueued.
    Several transactions' outboxes may share it. A mail enqueued here joins ``mails`` only when
    the owner of the transaction calls ``commit()``; ``rollback()`` drops it. The owner (a fake
    unit of work) commits and rolls back the outbox along with its own state.
    """

    def __init__(self, mails: list[OutgoingMail] | None = None) -> None:
        self.mails: list[OutgoingMail] = mails if mails is not None else []
        self._pending: list[OutgoingMail] = []

    async def enqueue(self, mail: OutgoingMail) -> None:
        # The real outbox writes the parameters out at once: a caller's later change to its
        # dict does not reach the queued mail.
        self._pending.append(dataclasses.replace(mail, params=dict(mail.params)))

    def commit(self) -> None:
        self.mails.extend(self._pending)
        self._pending.clear()

    def rollback(self) -> None:
        self._pending.clear()


class FakeMailCaps(MailCaps):
    """Allows the first ``allowed`` mails to each address and purpose (all when ``None``) and
    records every address asked. As ``RedisMailCaps`` within one window: each address and
    purpose has its own count, and a refused mail stays refused. Not modelled: the windows
    ending (``RedisMailCaps`` allows 1 a minute and 5 an hour)."""

    def __init__(self, allowed: int | None = None) -> None:
        self.allowed = allowed
        self.asked: list[str] = []
        self._counts: Counter[tuple[str, MailPurpose]] = Counter()

    async def allow(self, address: str, purpose: MailPurpose) -> bool:
        self.asked.append(address)
        self._counts[address, purpose] += 1
        return self.allowed is None or self._counts[address, purpose] <= self.allowed


class FakeWebhookSubscribers(WebhookSubscribers):
    """Wants the event types in ``types`` (every type when ``None``; none by default)."""

    def __init__(self, types: frozenset[str] | None = frozenset()) -> None:
        self.types = types

    def wants(self, event_type: str) -> bool:
        return self.types is None or event_type in self.types


class _Row(Generic[M]):
    def __init__(self, message: M, due: datetime) -> None:
        self.message = message
        self.due = due
        self.status = "pending"
        self.error: str | None = None
        self.sent_at: datetime | None = None
        self.claimed = False


class _Claim(Claim[M]):
    """As the real claim: ``message`` is a copy of the row as claimed; a mark is recorded, and
    changes the row when the batch ends (``forget`` wipes what the outbox does not keep of a
    message once it is done)."""

    def __init__(self, row: _Row[M], forget: Callable[[M], None]) -> None:
        self._row = row
        self._forget = forget
        self.message = copy.deepcopy(row.message)
        self._outcome: Callable[[], None] | None = None
        row.claimed = True

    def mark_sent(self, now: datetime) -> None:
        def sent() -> None:
            row = self._row
            row.status = "sent"
            row.sent_at = now
            row.message.attempts += 1
            self._forget(row.message)
            row.error = None

        self._outcome = sent

    def mark_failed(self, error: str, retry_at: datetime) -> None:
        def failed() -> None:
            row = self._row
            row.message.attempts += 1
            row.due = retry_at
            row.error = error

        self._outcome = failed

    def mark_dead(self, error: str, now: datetime) -> None:
        def dead() -> None:
            row = self._row
            row.status = "dead"
            row.message.attempts += 1
            row.due = now
            self._forget(row.message)
            row.error = error

        self._outcome = dead

    def end(self) -> None:
        """The batch ended: write the outcome, if any, and let the row go."""
        if self._outcome is not None:
            self._outcome()
        self._row.claimed = False


class InMemoryQueue(Generic[M]):
    """Rows in a list; a batch claims the oldest due pending rows that no other batch holds (the
    real queue locks them, ``FOR UPDATE SKIP LOCKED``), held until the batch ends."""

    def __init__(self) -> None:
        self.rows: list[_Row[M]] = []

    def _forget(self, message: M) -> None:
        """Wipe what is not kept once a message is done (nothing, unless an outbox says)."""

    def _add(self, message: M, due: datetime) -> _Row[M]:
        row = _Row(message, due)
        self.rows.append(row)
        return row

    @contextlib.asynccontextmanager
    async def claim_due(self, now: datetime, limit: int) -> AsyncIterator[Sequence[Claim[M]]]:
        due = [r for r in self.rows if r.status == "pending" and r.due <= now and not r.claimed]
        claims = [_Claim(row, self._forget) for row in sorted(due, key=lambda r: r.due)[:limit]]
        try:
            yield claims
        finally:  # however the batch ended, as the real queue
            for claim in claims:
                claim.end()

    async def backlog(self) -> int:
        return sum(r.status == "pending" for r in self.rows)

    async def wait_for_messages(self, wait_seconds: float) -> None:
        return None


class InMemoryOutboxStore(InMemoryQueue[OutboxMessage], OutboxStore):
    def _forget(self, message: OutboxMessage) -> None:
        message.params = {}  # one-time links are not kept once delivered

    def add(
        self,
        template: str,
        params: dict[str, str] | SealedParams,
        due: datetime,
        attempts: int = 0,
        *,
        to: str = "ada@example.com",
        locale: str = "en",
    ) -> _Row[OutboxMessage]:
        return self._add(
            OutboxMessage(
                id=uuid.uuid4(),
                to=to,
                template=template,
                params=params,
                locale=locale,
                attempts=attempts,
                created_at=due,
            ),
            due,
        )


class InMemoryWebhookQueue(InMemoryQueue[WebhookMessage], WebhookQueue):
    def add(
        self, url: str, event_type: str, body: str, due: datetime, attempts: int = 0
    ) -> _Row[WebhookMessage]:
        message = WebhookMessage(
            id=uuid.uuid4(),
            url=url,
            event_type=event_type,
            body=body,
            attempts=attempts,
            created_at=due,
        )
        return self._add(message, due)


class RecordingTransport(MailTransport):
    """Keeps what it sends; ``fail_with`` makes every send fail with that error. ``hold_until``
    (a count) holds every send until that many are in flight at once (``most_in_flight``)."""

    def __init__(self) -> None:
        self.sent: list[RenderedMail] = []
        self.fail_with: DeliveryFailed | None = None
        self.hold_until: int | None = None
        self.in_flight = self.most_in_flight = 0
        self._enough = asyncio.Event()

    async def send(self, mail: RenderedMail) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.hold_until is not None:
                if self.in_flight >= self.hold_until:
                    self._enough.set()
                await self._enough.wait()
            self.sent.append(mail)
        finally:
            self.in_flight -= 1


class RecordingWebhookSender(WebhookSender):
    """Keeps what it posts (url, headers, body); ``fail_with`` makes every post fail."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, dict[str, str], bytes]] = []
        self.fail_with: DeliveryFailed | None = None

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.posted.append((url, dict(headers), body))
