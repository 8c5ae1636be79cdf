"""Who handles which domain event: in the recording transaction, or after it commits.

Each module's container exports its ``Subscription``s; main joins them into one
``EventHandlers`` that every unit of work dispatches through (``SqlAlchemyUnitOfWork.commit``).
An in-transaction handler gets the recording ``Transaction``: it writes with the recorder's
session, so its effect commits or rolls back with the change, and may record further events
(handled after the ones already recorded). After-commit handlers reach what no transaction
covers, such as Redis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.shared.events import DomainEvent, EventRecorder

E = TypeVar("E", bound=DomainEvent)


class Transaction(EventRecorder, Protocol):
    """What an in-transaction handler gets: the recorder's session, to write in."""

    @property
    def session(self) -> AsyncSession: ...


@dataclass(frozen=True, slots=True)
class Subscription(Generic[E]):
    """``event`` (or a subclass of it) is handled by ``in_transaction`` and/or ``after_commit``."""

    event: type[E]
    in_transaction: Callable[[E, Transaction], Awaitable[None]] | None = None
    after_commit: Callable[[E], Awaitable[None]] | None = None


class UnhandledEvent(LookupError):
    """An event nobody subscribed to: a wiring mistake that would lose a mail or a record."""


_InTx = Callable[[Any, Transaction], Awaitable[None]]
_After = Callable[[Any], Awaitable[None]]


class EventHandlers:
    def __init__(self, subscriptions: Iterable[Subscription[Any]] = ()) -> None:
        self._subscriptions = tuple(subscriptions)
        self._by_type: dict[type[DomainEvent], tuple[tuple[_InTx, ...], tuple[_After, ...]]] = {}

    @classmethod
    def of(cls, groups: Iterable[Iterable[Subscription[Any]]]) -> EventHandlers:
        """Joined from each module's subscriptions."""
        return cls(subscription for group in groups for subscription in group)

    def _handlers(self, event: DomainEvent) -> tuple[tuple[_InTx, ...], tuple[_After, ...]]:
        kind = type(event)
        found = self._by_type.get(kind)
        if found is None:
            matching = [s for s in self._subscriptions if issubclass(kind, s.event)]
            if not matching:
                msg = f"no handler is subscribed to {kind.__qualname__}"
                raise UnhandledEvent(msg)
            found = (
                tuple(s.in_transaction for s in matching if s.in_transaction is not None),
                tuple(s.after_commit for s in matching if s.after_commit is not None),
            )
            self._by_type[kind] = found
        return found

    async def in_transaction(self, event: DomainEvent, tx: Transaction) -> None:
        for handler in self._handlers(event)[0]:
            await handler(event, tx)

    async def after_commit(self, event: DomainEvent) -> None:
        for handler in self._handlers(event)[1]:
            await handler(event)
