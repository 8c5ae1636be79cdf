"""What other modules may use of audit: record a security event, or erase a user's events, in
their own transaction. Both travel as records in the caller's unit of work
(``uow.record(SecurityEvent(...))``); audit's handlers write them when it commits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from gatehouse.shared.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityEvent(DomainEvent):
    """A fact about an account's security, named ``<subject>.<past-tense verb>``.

    ``user_id`` is the account it concerns; ``details`` holds short, non-secret strings (never a
    token, password or code).
    """

    type: str
    user_id: uuid.UUID | None
    session_id: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityEventsErased(DomainEvent):
    """The user's events are to go (their IPs and user agents are personal data). Recorded
    before the one event that must remain, such as ``account.deleted``."""

    user_id: uuid.UUID


class AuditTrail(Protocol):
    async def record(self, event: SecurityEvent) -> None:
        """Append the event in the caller's transaction; it exists only if that commits."""
        ...

    async def erase(self, user_id: uuid.UUID) -> None:
        """Delete the user's events (their IPs and user agents are personal data), in the
        caller's transaction: an account's deletion then records the one event that remains."""
        ...
