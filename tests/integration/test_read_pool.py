"""``ReadPool``, the lean side's own pool of asyncpg connections, against a real PostgreSQL:
its bound, the order it serves waiters in, its timeouts, and what it does with a connection
that failed, was cancelled, was cut by the server, idled or was used too long."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
import pytest_asyncio

from gatehouse.shared import pg
from gatehouse.shared.db_outage import DatabaseUnavailable
from gatehouse.shared.pg import DatabaseTimeouts, ReadPool, asyncpg_dsn
from gatehouse.testing.infra import Infra

PID = "SELECT pg_backend_pid() AS pid"
SLOW_PID = "SELECT pg_backend_pid() AS pid FROM pg_sleep($1)"
BACKEND_ALIVE = "SELECT count(*) FROM pg_stat_activity WHERE pid = $1"

PoolFactory = Callable[..., ReadPool]


@pytest_asyncio.fixture(loop_scope="session")
async def make_pool(infra: Infra) -> AsyncIterator[PoolFactory]:
    made: list[ReadPool] = []

    def make(
        max_size: int = 2,
        *,
        pool: float = 5,
        statement: float = 5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> ReadPool:
        made.append(
            ReadPool(
                asyncpg_dsn(infra.database_url),
                max_size=max_size,
                timeouts=DatabaseTimeouts(connect=5, pool=pool, statement=statement),
                monotonic=monotonic,
            )
        )
        return made[-1]

    yield make
    for each in made:
        await each.close()


class SteppingClock:
    """A monotonic clock that moves ``step`` seconds each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0
        self.step = 0.0

    def __call__(self) -> float:
        now, self.now = self.now, self.now + self.step
        return now


async def _pid(pool: ReadPool, seconds: float = 0.0) -> int:
    row = await pool.fetchrow(SLOW_PID, seconds) if seconds else await pool.fetchrow(PID)
    assert row is not None
    return int(row["pid"])


async def _holding(pool: ReadPool, seconds: float) -> asyncio.Task[int]:
    """A query holding one of the pool's connections for ``seconds``, already sent."""
    task = asyncio.create_task(_pid(pool, seconds))
    await asyncio.sleep(0)  # its first step takes a connection (or a slot to open one in)
    assert pool.size >= 1
    assert not task.done()
    return task


async def _until_gone(infra: Infra, pid: int) -> None:
    """Wait (at most 5 s) until the server's backend ``pid`` has exited."""
    admin = await asyncpg.connect(asyncpg_dsn(infra.database_url))
    try:
        for _ in range(500):
            if not await admin.fetchval(BACKEND_ALIVE, pid):
                return
            await asyncio.sleep(0.01)
    finally:
        await admin.close()
    pytest.fail(f"backend {pid} still there after 5 s")


async def test_a_connection_is_reused_and_the_pool_never_exceeds_its_size(
    make_pool: PoolFactory,
) -> None:
    pool = make_pool(max_size=3)
    first = await _pid(pool)
    assert await _pid(pool) == first  # handed back, taken again

    pids = await asyncio.gather(*(_pid(pool, 0.05) for _ in range(12)))

    assert len(set(pids)) <= 3
    assert pool.size <= 3


async def test_waiters_are_served_in_the_order_they_came(make_pool: PoolFactory) -> None:
    pool = make_pool(max_size=1)
    holder = await _holding(pool, 0.3)
    served: list[int] = []

    async def waiter(number: int) -> None:
        await pool.fetchrow("SELECT $1::int", number)
        served.append(number)

    waiters = []
    for number in range(5):
        waiters.append(asyncio.create_task(waiter(number)))
        await asyncio.sleep(0)  # each is queued before the next starts
    await asyncio.gather(holder, *waiters)

    assert served == [0, 1, 2, 3, 4]
    assert pool.size == 1


async def test_no_free_connection_within_the_pool_timeout_is_an_outage(
    make_pool: PoolFactory,
) -> None:
    pool = make_pool(max_size=1, pool=0.2)
    holder = await _holding(pool, 1.0)

    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):
        await _pid(pool)
    assert time.monotonic() - started < 0.9  # the pool timeout, not the holder's second

    held_by = await holder
    assert await _pid(pool) == held_by  # the waiter that gave up left the queue clean


async def test_a_failed_query_hands_its_connection_back(make_pool: PoolFactory) -> None:
    pool = make_pool(max_size=1)
    before = await _pid(pool)

    with pytest.raises(asyncpg.DivisionByZeroError):
        await pool.fetchrow("SELECT 1 / 0")

    assert await _pid(pool) == before


async def test_a_cancelled_query_loses_its_connection_and_the_next_gets_a_new_one(
    make_pool: PoolFactory,
) -> None:
    pool = make_pool(max_size=1)
    before = await _pid(pool)
    holder = await _holding(pool, 5.0)  # on that same connection
    waiting = asyncio.create_task(_pid(pool))  # queued behind the holder
    await asyncio.sleep(0)

    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    started = time.monotonic()
    assert await asyncio.wait_for(waiting, 3) != before  # the freed slot went to the waiter

    assert time.monotonic() - started < 3
    assert pool.size == 1


async def test_a_waiter_cancelled_as_it_is_given_a_slot_passes_the_slot_on(
    make_pool: PoolFactory,
) -> None:
    """White-box: the slot of a discarded connection, handed to a waiter whose task is
    cancelled before it runs, is not lost."""
    pool = make_pool(max_size=1)
    held = await pool._acquire()
    waiting = asyncio.create_task(_pid(pool))
    await asyncio.sleep(0)  # it waits for a connection

    pool._release(held, discard=True)  # the slot is handed to the waiter...
    waiting.cancel()  # ...which is cancelled before it could use it
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert pool.size == 0
    assert await _pid(pool) > 0


async def test_an_idle_connection_found_closed_is_replaced_before_any_query(
    make_pool: PoolFactory,
) -> None:
    """White-box: the connection is closed under the pool, as the driver does when the
    server ends it."""
    pool = make_pool(max_size=1)
    before = await _pid(pool)
    idle, _ = pool._idle[-1]
    idle.terminate()

    assert await _pid(pool) != before  # no query failed


async def test_a_statement_past_its_timeout_is_an_outage_and_its_connection_is_dropped(
    make_pool: PoolFactory,
) -> None:
    pool = make_pool(max_size=1, statement=0.2)
    before = await _pid(pool)

    with pytest.raises(DatabaseUnavailable):
        await _pid(pool, 3.0)

    assert await _pid(pool) != before


async def test_a_connection_the_server_ended_costs_at_most_one_query(
    make_pool: PoolFactory, infra: Infra
) -> None:
    pool = make_pool(max_size=1)
    before = await _pid(pool)
    admin = await asyncpg.connect(asyncpg_dsn(infra.database_url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", before)
    finally:
        await admin.close()
    await _until_gone(infra, before)

    answers: list[int | None] = []
    for _ in range(2):
        try:
            answers.append(await _pid(pool))
        except DatabaseUnavailable:
            answers.append(None)

    assert answers[-1] is not None
    assert before not in answers
    assert pool.size == 1


async def test_a_connection_idle_too_long_or_used_too_often_is_replaced(
    make_pool: PoolFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = make_pool(max_size=1)
    first = await _pid(pool)
    monkeypatch.setattr(pg, "IDLE_LIFETIME_SECONDS", 0.0)  # idle at all is too long
    second = await _pid(pool)
    monkeypatch.setattr(pg, "IDLE_LIFETIME_SECONDS", 300.0)
    monkeypatch.setattr(pg, "MAX_USES", 2)
    third = await _pid(pool)  # the second use: it leaves the pool when handed back
    fourth = await _pid(pool)

    assert second != first
    assert third == second
    assert fourth != third
    assert pool.size == 1


async def test_close_ends_the_idle_connections_and_the_pool_connects_again(
    make_pool: PoolFactory, infra: Infra
) -> None:
    pool = make_pool(max_size=2)
    before = await _pid(pool)

    await pool.close()

    assert pool.size == 0
    await _until_gone(infra, before)  # else a TimeoutError
    assert await _pid(pool) != before


async def test_the_oldest_idle_connection_is_closed_once_idle_too_long(
    make_pool: PoolFactory,
) -> None:
    """Under a light load the newest idle connection serves every query; the oldest is closed
    when a connection is handed back, not kept open for ever."""
    clock = SteppingClock()
    pool = make_pool(max_size=2, monotonic=clock)
    await asyncio.gather(_pid(pool, 0.05), _pid(pool, 0.05))  # both idle since 0
    assert pool.size == 2
    clock.step = pg.IDLE_LIFETIME_SECONDS + 100  # taken at 0, handed back a lifetime later

    await _pid(pool)

    assert pool.size == 1


async def test_a_connection_left_in_a_transaction_is_not_handed_out_again(
    make_pool: PoolFactory,
) -> None:
    pool = make_pool(max_size=1)
    before = await _pid(pool)

    await pool.fetchrow("BEGIN")  # nothing here does this; a bug that did must not leak

    assert await _pid(pool) != before


async def test_open_connects_once_and_says_when_the_server_is_not_there(
    make_pool: PoolFactory,
) -> None:
    pool = make_pool(max_size=2)
    await pool.open()
    await pool.open()
    assert pool.size == 1

    nowhere = ReadPool(
        "postgresql://postgres@127.0.0.1:1/postgres",
        max_size=1,
        timeouts=DatabaseTimeouts(connect=1, pool=1, statement=1),
    )
    with pytest.raises(DatabaseUnavailable):
        await nowhere.open()
    with pytest.raises(DatabaseUnavailable):
        await nowhere.fetchrow("SELECT 1")
    assert nowhere.size == 0  # the failed attempts hold no slot
