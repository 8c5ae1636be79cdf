"""A raw asyncpg pool for hot read paths (the lean query side), health checks, and the one hot
write that earns it: a refresh's rotation (ADR 0030)."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from gatehouse.shared.db_outage import (
    DatabaseUnavailable,
    is_database_outage,
    terminate_driver_connection,
)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """``postgresql+asyncpg://…`` → the libpq-style DSN asyncpg takes."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class DatabaseTimeouts:
    """Bounds on waiting for PostgreSQL, in seconds: so a request answers 503 in time when the
    server is down or frozen (``GATEHOUSE_DB_*_TIMEOUT_SECONDS``)."""

    connect: float = 1.0  # a new connection, up to its first query
    pool: float = 1.0  # a free connection from the pool (connecting included, in the read pool)
    statement: float = 1.5  # each statement; past it the query is cancelled

    @property
    def worst_case(self) -> float:
        """The longest one database operation may wait before it fails."""
        return self.pool + max(self.connect, self.statement)


IDLE_LIFETIME_SECONDS = 300.0  # a connection idle this long is closed (asyncpg's pool default)
MAX_USES = 50_000  # and one used this often (asyncpg's max_queries): the server's backend


class ReadPool:
    """Created synchronously by the container, opened and closed by the app's lifespan.

    Every wait is bounded (``DatabaseTimeouts``): a query waits at most ``pool`` for a connection
    (connecting included) and ``statement`` for its answer, so it fails within ``pool +
    statement`` seconds, as ``DatabaseUnavailable``, when the server is down or does not answer.
    A connection whose query failed that way, or was cancelled, is terminated, never used again:
    the pool opens new ones once the server is back.

    The connections are asyncpg's; the pool around them is this class, not ``asyncpg.Pool``
    (ADR 0030's update): one statement a checkout, no transaction, nothing to reset, so a
    checkout is taking the connection last handed back, and a return is handing it to the
    longest waiter, else keeping it. ``asyncpg.Pool`` spent about 35 µs of CPU a query on top
    (its holders and proxies, a task to shield each release, a timer for each acquire), more
    than the query's own driver work. Waiters are served in arrival order.
    """

    def __init__(
        self,
        dsn: str,
        *,
        max_size: int,
        timeouts: DatabaseTimeouts,
        statement_cache_size: int = 256,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``statement_cache_size=0`` behind PgBouncer in transaction mode: asyncpg then uses
        unnamed statements, which no other client's transaction can find or collide with."""
        if max_size < 1:
            msg = "max_size must be at least 1"
            raise ValueError(msg)
        self._dsn = dsn
        self._statement_cache_size = statement_cache_size
        self._timeouts = timeouts
        self._max_size = max_size
        self._monotonic = monotonic
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # and since when; last is newest
        self._uses: dict[asyncpg.Connection, int] = {}  # every connection open, and its uses
        self._opening = 0  # connections being opened
        # Each waits for a connection handed back, or for None: a slot to open one in.
        self._waiters: collections.deque[asyncio.Future[asyncpg.Connection | None]] = (
            collections.deque()
        )
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def dsn(self) -> str:
        return self._dsn

    @property
    def size(self) -> int:
        """Connections open or being opened."""
        return len(self._uses) + self._opening

    async def open(self) -> None:
        """One connection now, to learn early whether the server is there (``DatabaseUnavailable``
        when it is not; queries connect by themselves later)."""
        if self.size == 0:
            self._release(await self._checkout())

    async def close(self) -> None:
        """Close every connection: the idle ones now, those in use when handed back. The pool
        stays usable: a later query connects again."""
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            self._uses.pop(conn, None)
        for conn in self._uses:
            self._uses[conn] = MAX_USES  # closed when handed back
        await asyncio.gather(*(self._close(conn) for conn, _ in idle), *list(self._closing))

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        rows = await self.fetch(query, *args, one=True)
        return rows[0] if rows else None

    async def fetch(self, query: str, *args: Any, one: bool = False) -> list[asyncpg.Record]:
        conn = await self._checkout()
        try:
            if one:
                row = await conn.fetchrow(query, *args)
                rows = [] if row is None else [row]
            else:
                rows = list(await conn.fetch(query, *args))
        except BaseException as error:
            # A connection whose query timed out, or was cut off, waits on the server to
            # confirm the cancel before it could be reused: with the server frozen, that wait
            # is as long as the freeze. Terminate it; the pool opens a new one when needed.
            outage = isinstance(error, Exception) and is_database_outage(error)
            self._release(conn, discard=outage or not isinstance(error, Exception))
            if outage:
                raise DatabaseUnavailable from error
            raise
        self._release(conn)
        return rows

    async def _checkout(self) -> asyncpg.Connection:
        try:
            return await self._acquire()
        except Exception as error:
            if is_database_outage(error):
                raise DatabaseUnavailable from error
            raise

    async def _acquire(self) -> asyncpg.Connection:
        """The newest idle connection, else a new one while under ``max_size``, else the next
        one handed back; within ``pool`` seconds."""
        now = self._monotonic()
        while self._idle:
            conn, since = self._idle.pop()
            if conn.is_closed() or now - since > IDLE_LIFETIME_SECONDS:
                self._forget(conn)
                continue
            return conn
        async with asyncio.timeout(self._timeouts.pool):
            if self.size < self._max_size:
                return await self._connect()
            waiter: asyncio.Future[asyncpg.Connection | None] = (
                asyncio.get_running_loop().create_future()
            )
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():  # handed over as we gave up
                    late = waiter.result()
                    if late is None:  # the slot held for us goes to the next waiter
                        self._opening -= 1
                        self._pass_slot()
                    else:
                        self._release(late)
                raise
            if handed is None:  # a connection was discarded: open one in its place
                self._opening -= 1  # _pass_slot counted it as being opened for us
                return await self._connect()
            return handed

    async def _connect(self) -> asyncpg.Connection:
        self._opening += 1
        try:
            conn = await asyncpg.connect(
                self._dsn,
                timeout=self._timeouts.connect,
                command_timeout=self._timeouts.statement,
                statement_cache_size=self._statement_cache_size,
            )
        except BaseException:
            self._opening -= 1
            self._pass_slot()
            raise
        self._opening -= 1
        self._uses[conn] = 0
        return conn

    def _release(self, conn: asyncpg.Connection, *, discard: bool = False) -> None:
        """Hand ``conn`` to the longest waiter, or keep it; close it instead when it failed, is
        in a transaction (nothing here opens one), closed, or worn out."""
        self._uses[conn] = uses = self._uses[conn] + 1  # ``close`` keeps the ones in use
        if discard or conn.is_closed() or conn.is_in_transaction() or uses >= MAX_USES:
            self._forget(conn, terminate=discard)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        now = self._monotonic()
        self._idle.append((conn, now))
        # The newest idle connection is taken first: under a light load the oldest would stay
        # open for ever. Close it once it has been idle long enough.
        oldest, since = self._idle[0]
        if now - since > IDLE_LIFETIME_SECONDS:
            del self._idle[0]
            self._forget(oldest)

    def _forget(self, conn: asyncpg.Connection, *, terminate: bool = False) -> None:
        """``conn`` leaves the pool (closed, at once when ``terminate``); its slot goes to a
        waiter."""
        self._uses.pop(conn, None)
        if terminate:
            terminate_driver_connection(conn)
        else:
            self._close_soon(conn)
        self._pass_slot()

    def _pass_slot(self) -> None:
        """A slot came free: the longest waiter opens a connection in it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._opening += 1  # held for the waiter until it connects
                waiter.set_result(None)
                return

    def _close_soon(self, conn: asyncpg.Connection) -> None:
        if conn.is_closed():
            return
        task = asyncio.get_running_loop().create_task(self._close(conn))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, conn: asyncpg.Connection) -> None:
        try:
            await conn.close(timeout=self._timeouts.connect)
        except Exception:  # noqa: BLE001 - it is going away either way
            terminate_driver_connection(conn)
