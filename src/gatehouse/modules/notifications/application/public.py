"""What other modules may use of notifications: queue a mail inside their own transaction
(``uow.record(OutgoingMail(...))``: notifications' handler writes it to the outbox when the
caller's unit of work commits), resolve mail *requests* at dispatch time, the shared
per-address mail caps, and publish an event to the configured webhook endpoints the same way
(``uow.record(OutgoingWebhook(...))``).

A request endpoint that must answer the same for known and unknown addresses (forgot password)
queues a request (``OutgoingMail`` with the resolver's template name and no parameters) whatever
the address; the dispatcher later asks the module's ``MailResolver`` for the real mail, which is
``None`` for an unknown address. The request costs the same either way: one queued row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from gatehouse.modules.notifications.domain.webhooks import JsonValue
from gatehouse.shared.events import DomainEvent

__all__ = [
    "JsonValue",
    "MailCaps",
    "MailOutbox",
    "MailPurpose",
    "MailResolver",
    "OutgoingMail",
    "OutgoingWebhook",
    "WebhookSubscribers",
]


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


class MailPurpose(StrEnum):
    """What a requested mail is for: each has its own budget per address."""

    VERIFICATION = "verification"  # the registration mail and its resends
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a secret
    EMAIL_CODE = "email_code"  # a sign-in or step-up code
    EMAIL_CHANGE = "email_change"


class MailCaps(Protocol):
    """One budget per address and purpose, shared by every module's mails: 1 a minute and 5 an
    hour (the contract's). A reset link does not use up the budget of a sign-in code."""

    async def allow(self, address: str, purpose: MailPurpose) -> bool:
        """Count one mail of this purpose to this address; ``False`` once its per-minute or
        per-hour cap is reached (then send nothing; where the answer must not tell whether an
        account exists, answer exactly as if it had been sent)."""
        ...


@dataclass(frozen=True, slots=True)
class OutgoingWebhook(DomainEvent):
    """An event for every configured webhook endpoint that wants ``type``: one row each in the
    webhook outbox, written in the caller's transaction, then POSTed, signed, at least once.
    ``data`` is the payload's ``data`` object: never a secret, token or password hash."""

    type: str
    data: Mapping[str, JsonValue]


class WebhookSubscribers(Protocol):
    def wants(self, event_type: str) -> bool:
        """Whether some configured endpoint takes events of this type (so a publisher need not
        build a payload nobody receives)."""
        ...


class MailOutbox(Protocol):
    async def enqueue(self, mail: OutgoingMail) -> None:
        """Record the mail in the caller's transaction; it is sent only if that commits."""
        ...
