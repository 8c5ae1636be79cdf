"""Domain events: immutable facts, named in the past tense, recorded in a unit of work.

A module records what happened (``uow.record(PasswordChanged(...))``); the handlers main
registered for it run in the same transaction when the unit of work commits, and the
after-commit ones once it has. So one module causes effects in another without importing it:
accounts records ``PasswordChanged``, auth ends the sessions. Records for the modules below
(a ``SecurityEvent`` for audit, an ``OutgoingMail`` for notifications) travel the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Base of everything a unit of work records."""


class EventRecorder(Protocol):
    def record(self, event: DomainEvent) -> None:
        """Handled in this transaction when it commits (then after the commit); dropped with a
        rollback."""
        ...
