"""Recorded events through a real unit of work: handled in its transaction at commit, in
recording order (follow-ups after), after-commit handlers only once it committed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.adapters.repositories import SqlAlchemyAccountsUnitOfWork
from gatehouse.shared.events import DomainEvent
from gatehouse.shared.messagebus import EventHandlers, Subscription, Transaction
from tests.support.builders import a_user


@dataclass(frozen=True, slots=True, kw_only=True)
class Noted(DomainEvent):
    step: int


class Boom(Exception):
    pass


def _handlers(calls: list[str], *, fail_at: int | None = None) -> EventHandlers:
    async def in_tx(event: Noted, tx: Transaction) -> None:
        in_same_tx = await tx.session.scalar(text("SELECT count(*) FROM accounts_user"))
        calls.append(f"tx:{event.step}:{in_same_tx}")
        if event.step == fail_at:
            raise Boom
        if event.step == 1:
            tx.record(Noted(step=3))  # a follow-up, handled after what was already recorded

    async def after(event: Noted) -> None:
        calls.append(f"after:{event.step}")

    return EventHandlers([Subscription(Noted, in_transaction=in_tx, after_commit=after)])


async def test_events_are_handled_at_commit_in_order_and_after_commit_last(
    tx_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    calls: list[str] = []
    uow = SqlAlchemyAccountsUnitOfWork(tx_session_factory, _handlers(calls))
    async with uow as tx:
        before = await tx.session.scalar(text("SELECT count(*) FROM accounts_user"))
        await tx.users.add(a_user())
        tx.record(Noted(step=1))
        tx.record(Noted(step=2))
        assert calls == []  # nothing runs before the commit
        await tx.commit()
    seen = before + 1  # the handlers see the change: same transaction
    assert calls == [
        f"tx:1:{seen}",
        f"tx:2:{seen}",
        f"tx:3:{seen}",
        "after:1",
        "after:2",
        "after:3",
    ]


async def test_a_failing_handler_rolls_the_change_back_and_skips_after_commit(
    tx_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    calls: list[str] = []
    user = a_user()
    async with SqlAlchemyAccountsUnitOfWork(tx_session_factory, _handlers(calls, fail_at=2)) as tx:
        await tx.users.add(user)
        tx.record(Noted(step=1))
        tx.record(Noted(step=2))
        with pytest.raises(Boom):
            await tx.commit()
    assert not any(call.startswith("after") for call in calls)
    async with SqlAlchemyAccountsUnitOfWork(tx_session_factory, _handlers([])) as tx:
        assert await tx.users.get(user.id) is None


async def test_a_rollback_drops_recorded_events(
    tx_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    calls: list[str] = []
    uow = SqlAlchemyAccountsUnitOfWork(tx_session_factory, _handlers(calls))
    async with uow as tx:
        tx.record(Noted(step=2))  # and no commit
    async with uow as tx:
        await tx.commit()
    assert calls == []
