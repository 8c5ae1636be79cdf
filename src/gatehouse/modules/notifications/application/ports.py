"""Ports the notifications use cases need."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from gatehouse.modules.notifications.domain.model import OutboxMessage, RenderedMail, SealedParams
from gatehouse.modules.notifications.domain.webhooks import WebhookMessage


@dataclass(frozen=True, slots=True)
class RenderedParts:
    subject: str
    text: str
    html: str


class MailRenderer(Protocol):
    locales: tuple[str, ...]  # the locales with templates; English is always one

    def render(self, template: str, params: Mapping[str, str], locale: str) -> RenderedParts:
        """The mail in ``locale`` (English when it has no such template).

        Raises ``UnknownTemplate`` or ``TemplateFailed``.
        """
        ...


class MailTransport(Protocol):
    async def send(self, mail: RenderedMail) -> None:
        """Deliver or raise ``DeliveryFailed``."""
        ...


class ParamsSealer(Protocol):
    """Encryption at rest for a mail's parameters while the mail waits in the outbox."""

    def seal(self, params: Mapping[str, str]) -> SealedParams: ...

    def open(self, sealed: SealedParams) -> dict[str, str]:
        """Raises ``ParamsUnreadable``."""
        ...


class Queued(Protocol):
    """What every outbox's message has: an id and the attempts made so far."""

    id: uuid.UUID
    attempts: int


M = TypeVar("M", bound=Queued)


class Claim(Protocol[M]):
    """One claimed message, locked against other dispatchers until its batch ends. A mark
    records the outcome; the batch writes it when it ends (one outcome a claim)."""

    message: M

    def mark_sent(self, now: datetime) -> None: ...

    def mark_failed(self, error: str, retry_at: datetime) -> None: ...

    def mark_dead(self, error: str, now: datetime) -> None: ...


class DeliveryQueue(Protocol[M]):
    """The dispatcher's side of an outbox (mail, webhooks): due messages, a batch at a time."""

    def claim_due(
        self, now: datetime, limit: int
    ) -> AbstractAsyncContextManager[Sequence[Claim[M]]]:
        """Lock up to ``limit`` of the oldest due messages (skipping ones other dispatchers
        hold), oldest first; none when nothing is due. When the batch ends, however it ends (an
        error or a cancellation included), the outcomes its claims recorded are written and
        the locks released together; a message whose claim recorded none stays as it was, due
        again at once."""
        ...

    async def backlog(self) -> int:
        """How many messages wait to be sent."""
        ...

    async def wait_for_messages(self, wait_seconds: float) -> None:
        """Return when new messages may be waiting, or after ``wait_seconds``."""
        ...


class OutboxClaim(Claim[OutboxMessage], Protocol):
    """A claimed mail."""


class OutboxStore(DeliveryQueue[OutboxMessage], Protocol):
    """The mail outbox."""


class WebhookQueue(DeliveryQueue[WebhookMessage], Protocol):
    """The webhook outbox: one row per event and endpoint."""


class WebhookSender(Protocol):
    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> None:
        """Deliver, or raise ``DeliveryFailed``: any answer but 2xx (redirects are not
        followed), a timeout or a refused connection."""
        ...
