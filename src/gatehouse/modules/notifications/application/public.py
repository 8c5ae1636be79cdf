"""What other modules may use of notifications: queue a mail inside their own transaction
(``uow.record(OutgoingMail(...))``: notifications' handler writes it to the outbox when the
caller's unit of work commits), resolve mail *requests* at dispatch time, and the shared
per-address mail caps.

A request endpoint that must answer the same for known and unknown addresses (forgot password)
queues a request (``OutgoingMail`` with the resolver's template name and no parameters) whatever
the address; the dispatcher later asks the module's ``MailResolver`` for the real mail, which is
``None`` for an unknown address. The request costs the same either way: one queued row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from gatehouse.shared.events import DomainEvent


@dataclass(frozen=True, slots=True)
class OutgoingMail(DomainEvent):
    """A mail to render from a named template and send later, at least once."""

    to: str
    template: str
    params: Mapping[str, str] = field(default_factory=dict)
    locale: str = "en"


class MailResolver(Protocol):
    async def resolve(self, request: OutgoingMail) -> OutgoingMail | None:
        """The mail to send for this request, or ``None`` when there is nothing to send."""
        ...


class MailCaps(Protocol):
    """One budget per address shared by every module's mails: 1 a minute and 5 an hour."""

    async def allow(self, address: str) -> bool:
        """Count one mail to this address; ``False`` once its per-minute or per-hour cap is
        reached (then send nothing; where the answer must not tell whether an account exists,
        answer exactly as if it had been sent)."""
        ...


class MailOutbox(Protocol):
    async def enqueue(self, mail: OutgoingMail) -> None:
        """Record the mail in the caller's transaction; it is sent only if that commits."""
        ...
