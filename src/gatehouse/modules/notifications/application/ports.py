"""Ports the notifications use cases need."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
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
    """One claimed message, locked against other dispatchers until the claim ends."""

    message: M

    async def mark_sent(self, now: datetime) -> None: ...

    async def mark_failed(self, error: str, retry_at: datetime) -> None: ...

    async def mark_dead(self, error: str, now: datetime) -> None: ...


class DeliveryQueue(Protocol[M]):
    """The dispatcher's side of an outbox (mail, webhooks): one due message at a time."""

    def claim_next(self, now: datetime) -> AbstractAsyncContextManager[Claim[M] | None]:
        """Lock the oldest due message (skipping ones other dispatchers hold)."""
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
