"""The accounts unit of work with its real collaborators (outbox, audit trail, auth's session
terminator), all bound to its session, as main wires it."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.adapters.repositories import SqlAlchemyAccountsUnitOfWork
from gatehouse.modules.audit.adapters.trail import SqlAlchemyAuditTrail
from gatehouse.modules.auth.adapters.repositories import SqlAlchemySessionTerminator
from gatehouse.modules.notifications.adapters.outbox import SqlAlchemyMailOutbox
from gatehouse.shared.clock import Clock
from tests.support.builders import T0
from tests.support.clock import FixedClock


def accounts_uow(
    session_factory: async_sessionmaker[AsyncSession], clock: Clock | None = None
) -> Callable[[], SqlAlchemyAccountsUnitOfWork]:
    at = clock or FixedClock(T0)
    return lambda: SqlAlchemyAccountsUnitOfWork(
        session_factory,
        outbox_factory=lambda session: SqlAlchemyMailOutbox(session, at),
        audit_factory=lambda session: SqlAlchemyAuditTrail(session, at),
        sessions_factory=lambda session: SqlAlchemySessionTerminator(session, at),
    )
