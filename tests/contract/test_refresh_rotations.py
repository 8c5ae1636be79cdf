"""One suite for the RefreshRotations port (a refresh's hot path, ADR 0030), run against the
fake and the real adapter.

The port's promise: ``find(hash)`` gives the session that token belongs to and the token, as
committed (None for a hash nobody has); a rotation made on them (``Session.rotate``) and
``save``d is there for the next reader (the spent token, the session's generation and expiry,
the child) and ``save`` says True; when the stored session is no longer at the generation the
rotation started from, or was revoked, ``save`` writes nothing and says False (a
compare-and-swap). The real side also decides right when the other writer still holds the
session's row lock: it waits, then checks the session as that writer committed it.

Each side's probe commits a session with its first token (``add``), revokes it (``revoke``)
and reads back what is stored (``stored``) through the unit of work, the way the rest of auth
does. The real side
commits for real (the adapter has its own pool), on unique ids, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Protocol

import asyncpg
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
from gatehouse.shared.pg import DatabaseTimeouts, ReadPool, asyncpg_dsn
from gatehouse.testing.infra import Infra
from tests.contract import auth_helpers
from tests.contract.auth_helpers import a_hash, a_refresh_token
from tests.support.builders import T0
from tests.support.fakes import InMemoryAuthUnitOfWork
from tests.support.fakes.auth import InMemoryRefreshRotations

IDLE = timedelta(days=7)
RotationArgs = tuple[Session, RefreshToken, RefreshToken]  # what ``save`` takes


class Side(Protocol):
    @property
    def rotations(self) -> RefreshRotations: ...

    async def add(self, session: Session, token: RefreshToken) -> None: ...

    async def revoke(self, session_id: uuid.UUID) -> None: ...

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

    async def revoke(self, session_id: uuid.UUID) -> None:
        async with self.uow as uow:
            session = await uow.sessions.get(session_id, for_update=True)
            assert session is not None
            session.revoke(T0, "contract")
            await uow.commit()

    async def stored(
        self, session_id: uuid.UUID, *hashes: bytes
    ) -> tuple[Session | None, list[RefreshToken | None]]:
        async with self.uow as uow:
            tokens = [await uow.refresh_tokens.get(h) for h in hashes]
            return await uow.sessions.get(session_id), tokens


class AsyncpgSide:
    def __init__(
        self, pool: ReadPool, sessions: async_sessionmaker[AsyncSession], database_url: str
    ) -> None:
        self.pool = pool
        self.database_url = database_url
        self.rotations = AsyncpgRefreshRotations(pool)
        self._sessions = sessions
        self.added: list[uuid.UUID] = []

    async def add(self, session: Session, token: RefreshToken) -> None:
        async with self._sessions() as db:
            await SqlAlchemySessionRepository(db).add(session)
            await SqlAlchemyRefreshTokenRepository(db).add(token)
            await db.commit()
        self.added.append(session.id)

    async def revoke(self, session_id: uuid.UUID) -> None:
        async with self._sessions() as db:
            session = await SqlAlchemySessionRepository(db).get(session_id, for_update=True)
            assert session is not None
            session.revoke(T0, "contract")
            await db.commit()

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
    side = AsyncpgSide(pool, session_factory, infra.database_url)
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


async def a_session(side: Side) -> tuple[Session, RefreshToken]:
    """A committed session (with a second factor) and its first token."""
    session = auth_helpers.a_session(uuid.uuid4(), user_agent="contract", ip="198.51.100.7")
    session.amr = ("pwd", "otp")
    token = a_refresh_token(session)
    await side.add(session, token)
    return session, token


async def test_an_unknown_hash_finds_nothing(side: Side) -> None:
    assert await side.rotations.find(a_hash()) is None


async def test_find_gives_the_session_and_the_token_as_stored(side: Side) -> None:
    session, token = await a_session(side)

    found = await side.rotations.find(token.token_hash)

    assert found is not None
    got, got_token = found
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


async def _rotated(side: Side, token: RefreshToken, when: datetime) -> RotationArgs:
    """A rotation of what ``find`` reads for ``token``, not saved yet."""
    found = await side.rotations.find(token.token_hash)
    assert found is not None
    session, spent = found
    child = session.rotate(spent, a_hash(), when, IDLE)
    return session, spent, child


async def test_a_saved_rotation_is_stored(side: Side) -> None:
    session, token = await a_session(side)
    later = T0 + timedelta(hours=1)
    rotation = await _rotated(side, token, later)

    assert await side.rotations.save(*rotation) is True

    child_hash = rotation[2].token_hash
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


async def test_a_rotation_from_a_generation_already_left_writes_nothing(side: Side) -> None:
    """Two refreshes read the same live token; the second one's save finds the session moved
    on by the first, and leaves the first's rotation as it is."""
    session, token = await a_session(side)
    first = await _rotated(side, token, T0 + timedelta(minutes=1))
    second = await _rotated(side, token, T0 + timedelta(minutes=2))

    assert await side.rotations.save(*first) is True
    assert await side.rotations.save(*second) is False

    stored, (spent, kept, dropped) = await side.stored(
        session.id, token.token_hash, first[2].token_hash, second[2].token_hash
    )
    assert stored is not None
    assert (stored.generation, stored.last_used_at) == (1, T0 + timedelta(minutes=1))
    assert spent is not None
    assert spent.rotated_at == T0 + timedelta(minutes=1)
    assert kept is not None
    assert dropped is None


async def test_a_rotation_of_a_session_revoked_since_it_was_read_writes_nothing(
    side: Side,
) -> None:
    session, token = await a_session(side)
    rotation = await _rotated(side, token, T0 + timedelta(minutes=1))
    await side.revoke(session.id)

    assert await side.rotations.save(*rotation) is False

    stored, (spent, child) = await side.stored(session.id, token.token_hash, rotation[2].token_hash)
    assert stored is not None
    assert (stored.generation, stored.revoke_reason) == (0, "contract")
    assert spent is not None
    assert spent.rotated_at is None
    assert child is None


async def _waiting_save(pool: ReadPool) -> None:
    """Until a backend of this database waits for a row lock in the save statement (10 s)."""
    for _ in range(500):
        if await pool.fetchrow(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE '%WITH bumped AS%'"
        ):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no save waits for the session's row lock")


@pytest.mark.parametrize("other_writer", ["rotation", "revocation"])
async def test_a_save_waits_for_a_writer_holding_the_session_then_sees_its_commit(
    asyncpg_side: AsyncpgSide, other_writer: str
) -> None:
    """Real side only: the fake models no concurrency. While another transaction holds the
    session's row lock (a refresh through the unit of work, a sign-out), the save waits; once
    that transaction commits, it finds the session moved on and writes nothing."""
    side = asyncpg_side
    session, token = await a_session(side)
    rotation = await _rotated(side, token, T0 + timedelta(minutes=1))
    change = (
        "UPDATE auth_session SET generation = generation + 1 WHERE id = $1"
        if other_writer == "rotation"
        else "UPDATE auth_session SET revoked_at = now(), revoke_reason = 'contract' WHERE id = $1"
    )
    holder = await asyncpg.connect(asyncpg_dsn(side.database_url))
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM auth_session WHERE id = $1 FOR UPDATE", session.id)
            await holder.execute(change, session.id)
            saving = asyncio.create_task(side.rotations.save(*rotation))
            await _waiting_save(side.pool)
            assert not saving.done()
        assert await asyncio.wait_for(saving, timeout=5) is False
    finally:
        await holder.close()
    _, (spent, child) = await side.stored(session.id, token.token_hash, rotation[2].token_hash)
    assert spent is not None
    assert spent.rotated_at is None
    assert child is None
