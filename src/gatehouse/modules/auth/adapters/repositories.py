"""SQLAlchemy repositories and unit of work of the auth module."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.modules.auth.application.ports import AuthUnitOfWork, SessionRepository
from gatehouse.modules.auth.domain.model import Session
from gatehouse.shared.persistence import SqlAlchemyUnitOfWork


class SqlAlchemySessionRepository(SessionRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, session: Session) -> None:
        self._session.add(session)

    async def get(self, session_id: uuid.UUID) -> Session | None:
        return await self._session.get(Session, session_id)


class SqlAlchemyAuthUnitOfWork(SqlAlchemyUnitOfWork, AuthUnitOfWork):
    sessions: SessionRepository

    def _attach(self, session: AsyncSession) -> None:
        self.sessions = SqlAlchemySessionRepository(session)
