"""One suite for the RefreshRotations port (a refresh's hot path, ADR 0030), run against the
fake and the real adapter.

The port's promise: ``locked(hash)`` gives the session that token belongs to and the token, as
stored (None for a hash nobody has); a rotation made on them (``Session.rotate``) and ``save``d
is there for the next reader once the block ends (the spent token, the session's generation
and expiry, the child); a block that raises leaves everything as it was. The real side also
holds the session's row lock for the block: a second ``locked`` of the same session waits.

Each side's probe commits a session with its first token (``add``) and reads back what is
stored (``stored``) through the unit of work, the way the rest of auth reads it. The real side
commits for real (the adapter has its own pool), on unique ids, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Protocol

import pytest
import pytest_asyncio
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.auth.adapters.orm import session_table
from gatehouse.modules.auth.adapters.repositories import (
    SqlAlchemyRefreshTokenRepository,
    SqlAlchemySessionRepository,
)
from gatehouse.modules.auth.adapters.rotations import AsyncpgRefreshRotations
from gatehouse.modules.auth.application.refresh import RefreshRotations
from gatehouse.modules.auth.domain.model import RefreshToken, Session
from gatehouse.shared.ids import new_id
from gatehouse.shared.pg import DatabaseTimeouts, ReadPool, asyncpg_dsn
from gatehouse.testing.infra import Infra
from tests.support.builders import T0
from tests.support.fakes import InMemoryAuthUnitOfWork
from tests.support.fakes.auth import InMemoryRefreshRotations

IDLE = timedelta(days=7)


class Side(Protocol):
    @property
    def rotations(self) -> RefreshRotations: ...

    async def add(self, session: Session, token: RefreshToken) -> None: ...

    async def stored(
        self, session_id: uuid.UUID, *hashes: bytes
    ) -> tuple[Session | None, list[RefreshToken | None]]: ...


class InMemorySide:
    def __init__(self) -> None:
        self.uow = InMemoryAuthUnitOfWork()
        self.rotations = InMemoryRefreshRotations(self.uow)

    async def add(self, session: Session, token: RefreshToken) -> None:
        async with self.uow as uow:
            await uow.sessions.add(session)
            await uow.refresh_tokens.add(token)
            await uow.commit()

    async def stored(
        self, session_id: uuid.UUID, *hashes: bytes
    ) -> tuple[Session | None, list[RefreshToken | None]]:
        async with self.uow as uow:
            tokens = [await uow.refresh_tokens.get(h) for h in hashes]
            return await uow.sessions.get(session_id), tokens


class AsyncpgSide:
    def __init__(self, pool: ReadPool, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.pool = pool
        self.rotations = AsyncpgRefreshRotations(pool)
        self._sessions = sessions
        self.added: list[uuid.UUID] = []

    async def add(self, session: Session, token: RefreshToken) -> None:
        async with self._sessions() as db:
            await SqlAlchemySessionRepository(db).add(session)
            await SqlAlchemyRefreshTokenRepository(db).add(token)
            await db.commit()
        self.added.append(session.id)

    async def stored(
        self, session_id: uuid.UUID, *hashes: bytes
    ) -> tuple[Session | None, list[RefreshToken | None]]:
        async with self._sessions() as db:
            tokens = [await SqlAlchemyRefreshTokenRepository(db).get(h) for h in hashes]
            return await SqlAlchemySessionRepository(db).get(session_id), tokens


@pytest_asyncio.fixture(loop_scope="session")
async def asyncpg_side(
    infra: Infra, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncpgSide]:
    pool = ReadPool(
        asyncpg_dsn(infra.database_url),
        max_size=3,
        timeouts=DatabaseTimeouts(connect=5, pool=5, statement=5),
    )
    side = AsyncpgSide(pool, session_factory)
    try:
        yield side
    finally:
        async with session_factory() as db:
            await db.execute(delete(session_table).where(session_table.c.id.in_(side.added)))
            await db.commit()
        await pool.close()


@pytest.fixture(params=["in_memory", "asyncpg"])
def side(request: pytest.FixtureRequest) -> Side:
    if request.param == "in_memory":
        return InMemorySide()
    real: AsyncpgSide = request.getfixturevalue("asyncpg_side")
    return real


def _hash() -> bytes:
    return hashlib.sha256(secrets.token_bytes(32)).digest()


async def a_session(side: Side) -> tuple[Session, RefreshToken]:
    session = Session(
        id=new_id(),
        user_id=uuid.uuid4(),
        created_at=T0,
        last_used_at=T0,
        idle_expires_at=T0 + IDLE,
        absolute_expires_at=T0 + timedelta(days=30),
        user_agent="contract",
        ip="198.51.100.7",
        amr=("pwd", "otp"),
    )
    token = RefreshToken(token_hash=_hash(), session_id=session.id, generation=0, created_at=T0)
    await side.add(session, token)
    return session, token


async def test_an_unknown_hash_locks_nothing(side: Side) -> None:
    async with side.rotations.locked(_hash()) as family:
        assert family is None


async def test_the_family_is_the_session_and_the_token_as_stored(side: Side) -> None:
    session, token = await a_session(side)

    async with side.rotations.locked(token.token_hash) as family:
        assert family is not None
        got, got_token = family.session, family.token

    assert (got.id, got.user_id, got.generation, got.amr) == (
        session.id,
        session.user_id,
        0,
        session.amr,
    )
    assert (got.user_agent, got.ip, got.revoked_at) == ("contract", "198.51.100.7", None)
    assert (got.idle_expires_at, got.absolute_expires_at) == (
        session.idle_expires_at,
        session.absolute_expires_at,
    )
    assert (got_token.session_id, got_token.generation, got_token.rotated_at) == (
        session.id,
        0,
        None,
    )


async def test_a_saved_rotation_is_stored_when_the_block_ends(side: Side) -> None:
    session, token = await a_session(side)
    later, child_hash = T0 + timedelta(hours=1), _hash()

    async with side.rotations.locked(token.token_hash) as family:
        assert family is not None
        await family.save(family.session.rotate(family.token, child_hash, later, IDLE))

    stored, (spent, child) = await side.stored(session.id, token.token_hash, child_hash)
    assert stored is not None
    assert spent is not None
    assert child is not None
    assert (stored.generation, stored.last_used_at, stored.idle_expires_at) == (
        1,
        later,
        later + IDLE,
    )
    assert spent.rotated_at == later
    assert (child.session_id, child.generation, child.created_at, child.rotated_at) == (
        session.id,
        1,
        later,
        None,
    )


async def test_a_block_that_raises_leaves_everything_as_it_was(side: Side) -> None:
    session, token = await a_session(side)
    child_hash = _hash()

    async def rotate_then_fail() -> None:
        async with side.rotations.locked(token.token_hash) as family:
            assert family is not None
            await family.save(family.session.rotate(family.token, child_hash, T0, IDLE))
            raise LookupError

    with pytest.raises(LookupError):
        await rotate_then_fail()

    stored, (spent, child) = await side.stored(session.id, token.token_hash, child_hash)
    assert stored is not None
    assert stored.generation == 0
    assert spent is not None
    assert spent.rotated_at is None
    assert child is None


async def _lock_waiter(pool: ReadPool) -> None:
    """Until a backend of this database waits for a row lock in the lock statement (10 s)."""
    for _ in range(500):
        if await pool.fetchrow(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE OF s%'"
        ):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no locker waits for the session's row lock")


async def test_a_second_lock_of_the_session_waits_for_the_first_block(
    asyncpg_side: AsyncpgSide,
) -> None:
    """Real side only: the fake models no concurrency. The second locker, once let in, sees
    the session as the first committed it."""
    side = asyncpg_side
    _, token = await a_session(side)
    inside, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with side.rotations.locked(token.token_hash) as family:
            assert family is not None
            await family.save(family.session.rotate(family.token, _hash(), T0, IDLE))
            inside.set()
            await release.wait()

    async def second() -> int:
        async with side.rotations.locked(token.token_hash) as family:
            assert family is not None
            return family.session.generation

    holder = asyncio.create_task(first())
    await asyncio.wait_for(inside.wait(), timeout=5)
    waiter = asyncio.create_task(second())
    await _lock_waiter(side.pool)
    assert not waiter.done()
    release.set()
    await asyncio.wait_for(holder, timeout=5)
    assert await asyncio.wait_for(waiter, timeout=5) == 1
