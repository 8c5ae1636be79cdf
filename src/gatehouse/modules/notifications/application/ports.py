"""Ports the notifications use cases need."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gatehouse.modules.notifications.domain.model import OutboxMessage, RenderedMail


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


class OutboxClaim(Protocol):
    """One claimed message, locked against other dispatchers until the claim ends."""

    message: OutboxMessage

    async def mark_sent(self, now: datetime) -> None: ...

    async def mark_failed(self, error: str, retry_at: datetime) -> None: ...

    async def mark_dead(self, error: str, now: datetime) -> None: ...


class OutboxStore(Protocol):
    def claim_next(self, now: datetime) -> AbstractAsyncContextManager[OutboxClaim | None]:
        """Lock the oldest due message (skipping ones other dispatchers hold)."""
        ...

    async def backlog(self) -> int:
        """How many messages wait to be sent."""
        ...

    async def wait_for_mail(self, wait_seconds: float) -> None:
        """Return when new mail may be waiting, or after ``wait_seconds``."""
        ...
