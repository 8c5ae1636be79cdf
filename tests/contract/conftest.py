"""Fixtures the real sides of several contract suites share."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest_asyncio
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.adapters.orm import user_table
from gatehouse.shared.pg import DatabaseTimeouts, ReadPool, asyncpg_dsn
from gatehouse.testing.infra import Infra


@dataclass
class CommittedUsers:
    """A read pool on the test database, which sees only committed rows, and the ids of the
    users a test commits for real so that it can read them there (deleted afterwards)."""

    pool: ReadPool
    ids: list[uuid.UUID] = field(default_factory=list)


@pytest_asyncio.fixture(loop_scope="session")
async def committed_users(
    infra: Infra, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[CommittedUsers]:
    users = CommittedUsers(
        ReadPool(
            asyncpg_dsn(infra.database_url),
            max_size=2,
            timeouts=DatabaseTimeouts(connect=5, pool=5, statement=5),
        )
    )
    try:
        yield users
    finally:
        async with session_factory() as session:
            await session.execute(delete(user_table).where(user_table.c.id.in_(users.ids)))
            await session.commit()
        await users.pool.close()
