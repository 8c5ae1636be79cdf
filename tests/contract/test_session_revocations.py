"""One suite for the SessionRevocations port, run against the fake and the real adapter.

The port's promise: PostgreSQL (the store of record) is the truth; a session whose revocation
committed there, and that the fast copy was told about (``revoked``) or that a ``sync`` has
copied since, is revoked; a session the store has live is not. Each side's probe commits
sessions to its store of record (``add``, ``revoke``) with its own clock, as the use cases do
before they tell the fast copy.

The real side: ``RedisSessionRevocations`` over this worker's Redis database and its migrated
PostgreSQL database, with real commits (the adapter reads through its own ``ReadPool``). Its
Redis keys are moved under a prefix of their own for each test, so other tests and other runs
sharing the server neither see nor disturb them; the denylist is built (warm) before each test,
the state it is in all day. What a cold or flushed denylist does (ask PostgreSQL, rebuild) is
the real adapter's own business, tested end to end in tests/e2e/test_sessions.py.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Protocol

import pytest
import pytest_asyncio
import redis.asyncio as redis
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.auth.adapters import revocations as redis_revocations
from gatehouse.modules.auth.adapters.orm import session_table
from gatehouse.modules.auth.adapters.repositories import SqlAlchemySessionRepository
from gatehouse.modules.auth.adapters.revocations import RedisSessionRevocations
from gatehouse.modules.auth.application.ports import SessionRevocations
from gatehouse.modules.auth.domain.model import Session
from gatehouse.shared.clock import Clock, SystemClock
from gatehouse.shared.ids import new_id
from gatehouse.shared.pg import DatabaseTimeouts, ReadPool, asyncpg_dsn
from gatehouse.shared.redis_health import RedisHealth, RedisServer
from gatehouse.testing.infra import Infra
from tests.support.clock import FixedClock
from tests.support.fakes import InMemorySessionRevocations

WINDOW_SECONDS = 900  # the access-token lifetime the denylist covers
INTERVAL = 60.0  # a sync interval that does not end during a test


class Side(Protocol):
    @property
    def revocations(self) -> SessionRevocations: ...

    @property
    def clock(self) -> Clock:
        """The clock the store of record revokes by."""
        ...

    async def add(self, session: Session) -> None:
        """Commit a new session to the store of record."""
        ...

    async def revoke(self, session_id: uuid.UUID) -> None:
        """Commit the session's revocation in the store of record (nobody is told)."""
        ...


class InMemorySide:
    def __init__(self) -> None:
        self.clock = FixedClock()
        self.store: dict[uuid.UUID, Session] = {}
        self.revocations = InMemorySessionRevocations(self.clock, self.store.values)

    async def add(self, session: Session) -> None:
        self.store[session.id] = session

    async def revoke(self, session_id: uuid.UUID) -> None:
        self.store[session_id].revoke(self.clock.now(), "contract")


class RedisSide:
    def __init__(
        self, revocations: RedisSessionRevocations, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self.revocations = revocations
        self.clock = SystemClock()  # the adapter reads "recent" against PostgreSQL's now()
        self._sessions = sessions
        self.added: list[uuid.UUID] = []

    async def add(self, session: Session) -> None:
        async with self._sessions() as db:
            await SqlAlchemySessionRepository(db).add(session)
            await db.commit()
        self.added.append(session.id)

    async def revoke(self, session_id: uuid.UUID) -> None:
        async with self._sessions() as db:
            session = await SqlAlchemySessionRepository(db).get(session_id, for_update=True)
            assert session is not None
            session.revoke(self.clock.now(), "contract")
            await db.commit()


@pytest_asyncio.fixture(loop_scope="session")
async def redis_side(
    infra: Infra,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RedisSide]:
    prefix = f"test:{secrets.token_hex(8)}:session-revoked:"
    monkeypatch.setattr(redis_revocations, "PREFIX", prefix)
    monkeypatch.setattr(redis_revocations, "READY", prefix + "ready")
    monkeypatch.setattr(redis_revocations, "REBUILDING", prefix + "rebuilding")
    monkeypatch.setattr(redis_revocations, "SYNCING", prefix + "syncing")
    server = RedisServer()  # as the app's client does: each connection learns the server's id
    client = redis.Redis.from_url(infra.redis_url, redis_connect_func=server.on_connect)
    pool = ReadPool(
        asyncpg_dsn(infra.database_url),
        max_size=2,
        timeouts=DatabaseTimeouts(connect=5, pool=5, statement=5),
    )
    adapter = RedisSessionRevocations(
        client, pool, health=RedisHealth(), server=server, window_seconds=WINDOW_SECONDS
    )
    side = RedisSide(adapter, session_factory)
    try:
        await side.revocations.is_revoked(uuid.uuid4())  # builds the denylist
        ready = await client.get(prefix + "ready")
        assert ready is not None, "the denylist was not built"
        assert ready == server.run_id, "the marker names another server"
        yield side
    finally:
        async with session_factory() as db:
            await db.execute(delete(session_table).where(session_table.c.id.in_(side.added)))
            await db.commit()
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
        await client.aclose()
        await pool.close()


@pytest.fixture(params=["in_memory", "redis"])
def side(request: pytest.FixtureRequest) -> Side:
    if request.param == "in_memory":
        return InMemorySide()
    real: RedisSide = request.getfixturevalue("redis_side")
    return real


async def a_live_session(side: Side) -> uuid.UUID:
    now = side.clock.now()
    session = Session(
        id=new_id(),
        user_id=uuid.uuid4(),
        created_at=now,
        last_used_at=now,
        idle_expires_at=now + timedelta(days=14),
        absolute_expires_at=now + timedelta(days=30),
        amr=("pwd",),
    )
    await side.add(session)
    return session.id


async def a_revoked_session(side: Side, *, tell: bool) -> uuid.UUID:
    """Revoked as a use case does: committed in the store first, then (maybe) told."""
    session_id = await a_live_session(side)
    await side.revoke(session_id)
    if tell:
        await side.revocations.revoked([session_id])
    return session_id


async def test_a_session_the_store_has_live_is_not_revoked(side: Side) -> None:
    live = await a_live_session(side)

    assert await side.revocations.is_revoked(live) is False


async def test_a_revoked_session_that_was_told_is_revoked(side: Side) -> None:
    ended = await a_revoked_session(side, tell=True)

    assert await side.revocations.is_revoked(ended) is True


async def test_telling_one_session_leaves_the_others_live(side: Side) -> None:
    ended = await a_revoked_session(side, tell=True)
    live = await a_live_session(side)

    assert await side.revocations.is_revoked(ended) is True
    assert await side.revocations.is_revoked(live) is False


async def test_every_session_of_one_call_is_revoked(side: Side) -> None:
    ended = [await a_live_session(side) for _ in range(3)]
    for session_id in ended:
        await side.revoke(session_id)

    await side.revocations.revoked(ended)

    assert [await side.revocations.is_revoked(s) for s in ended] == [True, True, True]


async def test_concurrent_checks_each_get_their_own_answer(side: Side) -> None:
    """The real one answers concurrent checks with one batched lookup: answers stay aligned."""
    ended = [await a_revoked_session(side, tell=True) for _ in range(3)]
    live = [await a_live_session(side) for _ in range(3)]
    asked = [live[0], ended[0], ended[1], live[1], live[2], ended[2], ended[0]]

    answers = await asyncio.gather(*(side.revocations.is_revoked(s) for s in asked))

    assert answers == [False, True, True, False, False, True, True]


async def test_revoking_no_sessions_changes_nothing(side: Side) -> None:
    live = await a_live_session(side)

    await side.revocations.revoked([])

    assert await side.revocations.is_revoked(live) is False


async def test_telling_a_session_twice_keeps_it_revoked(side: Side) -> None:
    ended = await a_revoked_session(side, tell=True)

    await side.revocations.revoked([ended])

    assert await side.revocations.is_revoked(ended) is True


async def test_sync_copies_a_recent_revocation_nobody_told_and_counts_it(side: Side) -> None:
    """The guarantee's safety net: a revocation whose ``revoked`` call was lost is not missed
    after the next sync."""
    missed = [await a_revoked_session(side, tell=False) for _ in range(2)]
    live = await a_live_session(side)

    copied = await side.revocations.sync(INTERVAL)

    assert copied >= len(missed)  # the real one also copies other tests' recent revocations
    assert [await side.revocations.is_revoked(s) for s in missed] == [True, True]
    assert await side.revocations.is_revoked(live) is False


async def test_sync_keeps_told_revocations_revoked(side: Side) -> None:
    ended = await a_revoked_session(side, tell=True)

    await side.revocations.sync(INTERVAL)

    assert await side.revocations.is_revoked(ended) is True


async def test_a_second_sync_in_the_same_interval_copies_nothing(side: Side) -> None:
    """One process per interval copies; the others (here: the second call) return 0."""
    await a_revoked_session(side, tell=False)
    assert await side.revocations.sync(INTERVAL) >= 1
    await a_revoked_session(side, tell=False)  # recent: a sync in its own turn would copy it

    assert await side.revocations.sync(INTERVAL) == 0
