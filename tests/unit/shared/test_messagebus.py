"""Event handlers: who is called for an event, in which order, and refusal of the unheard."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.shared.events import DomainEvent
from gatehouse.shared.messagebus import EventHandlers, Subscription, Transaction, UnhandledEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class Happened(DomainEvent):
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HappenedLoudly(Happened):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Unheard(DomainEvent):
    pass


class Tx(Transaction):
    """The recorder's side of a transaction, without a database."""

    def __init__(self) -> None:
        self.recorded: list[DomainEvent] = []

    @property
    def session(self) -> AsyncSession:
        raise AssertionError("these handlers do not write")

    def record(self, event: DomainEvent) -> None:
        self.recorded.append(event)


async def test_handlers_run_in_subscription_order_and_subclasses_reach_base_handlers() -> None:
    calls: list[str] = []

    async def first(event: Happened, tx: Transaction) -> None:
        calls.append(f"first:{event.name}")

    async def loud_only(event: HappenedLoudly, tx: Transaction) -> None:
        calls.append(f"loud:{event.name}")

    async def after(event: Happened) -> None:
        calls.append(f"after:{event.name}")

    handlers = EventHandlers.of(
        [
            [Subscription(Happened, in_transaction=first, after_commit=after)],
            [Subscription(HappenedLoudly, in_transaction=loud_only)],
        ]
    )
    tx = Tx()
    await handlers.in_transaction(HappenedLoudly(name="x"), tx)
    assert calls == ["first:x", "loud:x"]
    await handlers.in_transaction(Happened(name="y"), tx)
    assert calls == ["first:x", "loud:x", "first:y"]  # the subclass's handler is not called
    await handlers.after_commit(Happened(name="y"))
    assert calls[-1] == "after:y"


async def test_an_event_nobody_subscribed_to_is_refused_not_dropped() -> None:
    handlers = EventHandlers.of([[Subscription(Happened, after_commit=None)]])
    with pytest.raises(UnhandledEvent, match="Unheard"):
        await handlers.in_transaction(Unheard(), Tx())
    with pytest.raises(UnhandledEvent):
        await handlers.after_commit(Unheard())
