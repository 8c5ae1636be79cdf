"""SQLAlchemy repositories and unit of work of the auth module."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.application.public import MfaSummaryRecorder
from gatehouse.modules.audit.application.public import AuditTrail
from gatehouse.modules.auth.adapters.mfa_repositories import (
    SqlAlchemyMfaChallengeRepository,
    SqlAlchemyMfaRepository,
)
from gatehouse.modules.auth.adapters.orm import (
    backup_code_table,
    challenge_table,
    mfa_table,
    refresh_token_table,
    session_table,
)
from gatehouse.modules.auth.application.ports import (
    AuthUnitOfWork,
    DeviceHistory,
    MfaChallengeRepository,
    MfaRepository,
    RefreshTokenRepository,
    SessionRepository,
)
from gatehouse.modules.auth.application.public import SessionTerminator
from gatehouse.modules.auth.domain.model import RefreshToken, Session
from gatehouse.modules.notifications.application.public import MailOutbox
from gatehouse.shared.clock import Clock
from gatehouse.shared.persistence import SqlAlchemyUnitOfWork


class SqlAlchemySessionRepository(SessionRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, session: Session) -> None:
        self._session.add(session)
        await self._session.flush()  # before its refresh tokens, which reference it

    async def get(self, session_id: uuid.UUID, *, for_update: bool = False) -> Session | None:
        stmt = select(Session).where(session_table.c.id == session_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def list_active(
        self, user_id: uuid.UUID, now: datetime, *, limit: int, before: uuid.UUID | None
    ) -> list[Session]:
        t = session_table
        stmt = (
            select(Session)
            .where(
                t.c.user_id == user_id,
                t.c.revoked_at.is_(None),
                t.c.idle_expires_at > now,
                t.c.absolute_expires_at > now,
            )
            .order_by(t.c.id.desc())  # UUIDv7: newest first
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(t.c.id < before)
        return list((await self._session.execute(stmt)).scalars())

    async def device_history(self, user_id: uuid.UUID, user_agent: str | None) -> DeviceHistory:
        t = session_table
        row = (
            await self._session.execute(
                select(
                    func.count() > 0,
                    func.coalesce(func.bool_or(t.c.user_agent == user_agent), False),
                ).where(t.c.user_id == user_id)
            )
        ).one()
        return DeviceHistory(signed_in_before=bool(row[0]), this_device_before=bool(row[1]))

    async def revoke_all(
        self, user_id: uuid.UUID, now: datetime, reason: str, *, keep: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        t = session_table
        result = await self._session.execute(
            update(t)
            .where(t.c.user_id == user_id, t.c.revoked_at.is_(None), t.c.id != keep)
            .values(revoked_at=now, revoke_reason=reason)
            .returning(t.c.id)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars())


class SqlAlchemySessionTerminator(SessionTerminator):
    """Bound to another module's session: its sessions end in that module's transaction."""

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

    async def forget(self, user_id: uuid.UUID) -> None:
        t = session_table
        await self._session.execute(
            update(t)
            .where(t.c.user_id == user_id)
            .values(ip=None, user_agent=None)
            .execution_options(synchronize_session=False)
        )
        for table in (mfa_table, backup_code_table, challenge_table):
            await self._session.execute(delete(table).where(table.c.user_id == user_id))


class SqlAlchemyRefreshTokenRepository(RefreshTokenRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token: RefreshToken) -> None:
        self._session.add(token)

    async def get(self, token_hash: bytes) -> RefreshToken | None:
        stmt = (
            select(RefreshToken)
            .where(refresh_token_table.c.token_hash == token_hash)
            .execution_options(populate_existing=True)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()


class SqlAlchemyAuthUnitOfWork(SqlAlchemyUnitOfWork, AuthUnitOfWork):
    sessions: SessionRepository
    refresh_tokens: RefreshTokenRepository
    mfa: MfaRepository
    challenges: MfaChallengeRepository
    mfa_summary: MfaSummaryRecorder
    audit: AuditTrail
    outbox: MailOutbox

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        audit_factory: Callable[[AsyncSession], AuditTrail],
        outbox_factory: Callable[[AsyncSession], MailOutbox],
        mfa_summary_factory: Callable[[AsyncSession], MfaSummaryRecorder],
    ) -> None:
        super().__init__(session_factory)
        self._audit_factory = audit_factory
        self._outbox_factory = outbox_factory
        self._mfa_summary_factory = mfa_summary_factory

    def _attach(self, session: AsyncSession) -> None:
        self.sessions = SqlAlchemySessionRepository(session)
        self.refresh_tokens = SqlAlchemyRefreshTokenRepository(session)
        self.mfa = SqlAlchemyMfaRepository(session)
        self.challenges = SqlAlchemyMfaChallengeRepository(session)
        self.mfa_summary = self._mfa_summary_factory(session)
        self.audit = self._audit_factory(session)
        self.outbox = self._outbox_factory(session)
