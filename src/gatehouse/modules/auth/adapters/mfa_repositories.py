"""SQLAlchemy repositories of MFA state: factors, backup codes and sign-in challenges."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.modules.auth.adapters.orm import backup_code_table, challenge_table, mfa_table
from gatehouse.modules.auth.application.ports import MfaChallengeRepository, MfaRepository
from gatehouse.modules.auth.domain.mfa import MfaChallenge, UserMfa


class SqlAlchemyMfaRepository(MfaRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> UserMfa | None:
        stmt = select(UserMfa).where(mfa_table.c.user_id == user_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def get_or_add(self, user_id: uuid.UUID) -> UserMfa:
        await self._session.execute(
            pg_insert(mfa_table).values(user_id=user_id).on_conflict_do_nothing()
        )
        mfa = await self.get(user_id, for_update=True)
        assert mfa is not None  # inserted above, or by a concurrent caller; rows are not deleted
        return mfa

    async def backup_codes_remaining(self, user_id: uuid.UUID) -> int:
        t = backup_code_table
        stmt = select(func.count()).where(t.c.user_id == user_id, t.c.used_at.is_(None))
        return int((await self._session.execute(stmt)).scalar_one())

    async def replace_backup_codes(
        self, user_id: uuid.UUID, code_hashes: list[bytes], now: datetime
    ) -> None:
        await self.delete_backup_codes(user_id)
        await self._session.execute(
            insert(backup_code_table),
            [{"user_id": user_id, "code_hash": h, "created_at": now} for h in code_hashes],
        )

    async def use_backup_code(
        self, user_id: uuid.UUID, candidates: list[bytes], now: datetime
    ) -> bool:
        t = backup_code_table
        result = await self._session.execute(
            update(t)
            .where(t.c.user_id == user_id, t.c.code_hash.in_(candidates), t.c.used_at.is_(None))
            .values(used_at=now)
            .returning(t.c.code_hash)
        )
        return result.first() is not None

    async def delete_backup_codes(self, user_id: uuid.UUID) -> None:
        await self._session.execute(
            delete(backup_code_table).where(backup_code_table.c.user_id == user_id)
        )


class SqlAlchemyMfaChallengeRepository(MfaChallengeRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, challenge: MfaChallenge) -> None:
        self._session.add(challenge)

    async def get(self, token_hash: bytes) -> MfaChallenge | None:
        stmt = (
            select(MfaChallenge)
            .where(challenge_table.c.token_hash == token_hash)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()
