"""The lean read side (raw asyncpg) and the app's Redis client, against the real servers."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.main.container import build_container
from gatehouse.main.settings import Settings
from gatehouse.modules.accounts.adapters.repositories import SqlAlchemyAccountsUnitOfWork
from gatehouse.modules.accounts.adapters.views import AsyncpgUserViews
from gatehouse.modules.accounts.application.views import UserView
from gatehouse.shared.pg import DatabaseTimeouts, ReadPool, asyncpg_dsn
from gatehouse.testing.infra import Infra
from tests.support.builders import T0, a_user
from tests.support.uow import accounts_uow


@pytest_asyncio.fixture(loop_scope="session")
async def read_pool(infra: Infra) -> AsyncIterator[ReadPool]:
    pool = ReadPool(
        asyncpg_dsn(infra.database_url),
        max_size=2,
        timeouts=DatabaseTimeouts(connect=5, pool=5, statement=5),
    )
    yield pool
    await pool.close()


def _uow(session_factory: async_sessionmaker[AsyncSession]) -> SqlAlchemyAccountsUnitOfWork:
    return accounts_uow(session_factory)()


async def test_the_read_side_returns_what_the_unit_of_work_committed(
    session_factory: async_sessionmaker[AsyncSession], read_pool: ReadPool
) -> None:
    user = a_user(display_name="Grace Hopper")
    verified_at = T0 + timedelta(minutes=3)
    user.mark_email_verified(verified_at)
    user.roles = ("user", "admin")
    expected = UserView(
        id=user.id,
        email=user.email.value,
        email_verified=True,
        display_name="Grace Hopper",
        roles=("user", "admin"),
        is_active=True,
        created_at=user.created_at,
    )
    async with _uow(session_factory) as tx:
        await tx.users.add(user)
        await tx.commit()

    view = await AsyncpgUserViews(read_pool).get(user.id)

    assert view == expected
    assert view is not None
    assert view.email_verified is True
    assert view.roles == ("user", "admin")


async def test_the_read_side_does_not_see_uncommitted_users(
    session_factory: async_sessionmaker[AsyncSession], read_pool: ReadPool
) -> None:
    user = a_user()
    views = AsyncpgUserViews(read_pool)
    async with _uow(session_factory) as tx:
        await tx.users.add(user)  # flushed, not committed
        assert await views.get(user.id) is None

    assert await views.get(user.id) is None


async def test_the_app_redis_client_reaches_this_workers_database(
    settings: Settings, infra: Infra
) -> None:
    container = build_container(settings)
    client = container.redis()
    key = f"test:{secrets.token_hex(8)}"
    try:
        assert await client.ping() is True
        await client.set(key, "1", ex=60)
        assert await client.get(key) == b"1"
        assert client.connection_pool.connection_kwargs["db"] == infra.redis_db
    finally:
        await client.delete(key)
        await client.aclose()


async def test_the_app_engine_reaches_this_workers_migrated_database(
    settings: Settings, infra: Infra
) -> None:
    container = build_container(settings)
    engine = container.engine()
    try:
        async with engine.connect() as conn:
            name = await conn.scalar(text("SELECT current_database()"))
            tables = await conn.scalar(
                text("SELECT count(*) FROM pg_tables WHERE tablename = 'accounts_user'")
            )
    finally:
        await engine.dispose()

    assert name == infra.database_name
    assert tables == 1
