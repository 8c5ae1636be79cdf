"""SQLAlchemy repositories and unit of work of the auth module."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.modules.auth.adapters.orm import refresh_token_table, session_table
from gatehouse.modules.auth.application.ports import (
    AuthUnitOfWork,
    RefreshTokenRepository,
    SessionRepository,
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

    def _attach(self, session: AsyncSession) -> None:
        self.sessions = SqlAlchemySessionRepository(session)
        self.refresh_tokens = SqlAlchemyRefreshTokenRepository(session)
