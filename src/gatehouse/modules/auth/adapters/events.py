"""Auth's event subscriptions: accounts' credential changes (and a take-over by a social sign-in)
end sessions in accounts' transaction; ended sessions are denylisted in Redis after any commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.modules.accounts.application.public import (
    AccountDeleted,
    AccountDisabled,
    AccountTakenOver,
    PasswordChanged,
    RolesChanged,
)
from gatehouse.modules.auth.adapters.orm import (
    backup_code_table,
    challenge_table,
    mfa_table,
    session_table,
)
from gatehouse.modules.auth.adapters.repositories import SqlAlchemySessionRepository
from gatehouse.modules.auth.application.account_events import (
    end_sessions_on_access_change,
    end_sessions_on_deletion,
    end_sessions_on_password_change,
    end_sessions_on_take_over,
)
from gatehouse.modules.auth.application.ports import SessionRevocations, SessionTerminator
from gatehouse.modules.auth.domain.events import SessionsEnded
from gatehouse.shared.clock import Clock
from gatehouse.shared.messagebus import Subscription, Transaction


class SqlAlchemySessionTerminator(SessionTerminator):
    """Bound to the recording transaction's session (accounts')."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._sessions = SqlAlchemySessionRepository(session)
        self._clock = clock

    async def end_all(
        self, user_id: uuid.UUID, reason: str, *, keep: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        now = self._clock.now()
        # Sign-ins halfway through (an mfa_token, an emailed code) end with the sessions.
        c = challenge_table
        await self._session.execute(
            update(c).where(c.c.user_id == user_id, c.c.used_at.is_(None)).values(used_at=now)
        )
        m = mfa_table
        await self._session.execute(
            update(m)
            .where(m.c.user_id == user_id)
            .values(email_code_hash=None, email_code_expires_at=None, email_code_attempts=0)
        )
        return await self._sessions.revoke_all(user_id, now, reason, keep=keep)

    async def remove_factors(self, user_id: uuid.UUID) -> None:
        for table in (mfa_table, backup_code_table, challenge_table):
            await self._session.execute(delete(table).where(table.c.user_id == user_id))

    async def forget(self, user_id: uuid.UUID) -> None:
        t = session_table
        await self._session.execute(
            update(t)
            .where(t.c.user_id == user_id)
            .values(ip=None, user_agent=None)
            .execution_options(synchronize_session=False)
        )
        await self.remove_factors(user_id)


def auth_subscriptions(clock: Clock, revocations: SessionRevocations) -> list[Subscription[Any]]:
    async def password_changed(event: PasswordChanged, tx: Transaction) -> None:
        await end_sessions_on_password_change(
            event, SqlAlchemySessionTerminator(tx.session, clock), tx
        )

    async def account_deleted(event: AccountDeleted, tx: Transaction) -> None:
        await end_sessions_on_deletion(event, SqlAlchemySessionTerminator(tx.session, clock), tx)

    async def access_changed(event: AccountDisabled | RolesChanged, tx: Transaction) -> None:
        await end_sessions_on_access_change(
            event, SqlAlchemySessionTerminator(tx.session, clock), tx
        )

    async def taken_over(event: AccountTakenOver, tx: Transaction) -> None:
        await end_sessions_on_take_over(event, SqlAlchemySessionTerminator(tx.session, clock), tx)

    async def denylist(event: SessionsEnded) -> None:
        await revocations.revoked(list(event.session_ids))

    return [
        Subscription(PasswordChanged, in_transaction=password_changed),
        Subscription(AccountDeleted, in_transaction=account_deleted),
        Subscription(AccountDisabled, in_transaction=access_changed),
        Subscription(RolesChanged, in_transaction=access_changed),
        Subscription(AccountTakenOver, in_transaction=taken_over),
        Subscription(SessionsEnded, after_commit=denylist),
    ]
