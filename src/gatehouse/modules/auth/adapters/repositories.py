"""SQLAlchemy repositories and unit of work of the auth module."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.modules.auth.adapters.mfa_repositories import (
    SqlAlchemyMfaChallengeRepository,
    SqlAlchemyMfaRepository,
)
from gatehouse.modules.auth.adapters.orm import refresh_token_table, session_table
from gatehouse.modules.auth.application.ports import (
    AuthUnitOfWork,
    DeviceHistory,
    MfaChallengeRepository,
    MfaRepository,
    RefreshTokenRepository,
    SessionRepository,
    SessionSummary,
)
from gatehouse.modules.auth.domain.model import RefreshToken, Session
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

    async def summary(self, user_id: uuid.UUID, now: datetime) -> SessionSummary:
        t = session_table
        active = and_(
            t.c.revoked_at.is_(None), t.c.idle_expires_at > now, t.c.absolute_expires_at > now
        )
        row = (
            await self._session.execute(
                select(func.count().filter(active), func.max(t.c.created_at)).where(
                    t.c.user_id == user_id
                )
            )
        ).one()
        return SessionSummary(active=row[0], last_sign_in=row[1])

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

    def _attach(self, session: AsyncSession) -> None:
        self.sessions = SqlAlchemySessionRepository(session)
        self.refresh_tokens = SqlAlchemyRefreshTokenRepository(session)
        self.mfa = SqlAlchemyMfaRepository(session)
        self.challenges = SqlAlchemyMfaChallengeRepository(session)
