"""A raw asyncpg pool for hot read paths (the lean query side), health checks, and the one hot
write that earns it: a refresh's rotation (ADR 0030)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
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


async def _nothing_to_reset(_: asyncpg.Connection) -> None:
    """The pool's reset on release. asyncpg's default (``Connection.reset``) sends
    ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` every time a connection goes
    back, a round trip per query; nothing here sets session state, takes advisory locks,
    listens or leaves cursors open, and asyncpg still rolls back a transaction left open
    before calling this (ADR 0030)."""


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


class ReadPool:
    """Created synchronously by the container, opened and closed by the app's lifespan.

    Every wait is bounded (``DatabaseTimeouts``): a query waits at most ``pool`` for a connection
    and ``statement`` for its answer, so it fails within ``pool + statement`` seconds, as
    ``DatabaseUnavailable``, when the server is down or does not answer. A connection whose
    query failed that way is terminated, never handed back: the pool refills with new ones once
    the server is back.
    """

    def __init__(
        self,
        dsn: str,
        *,
        max_size: int,
        timeouts: DatabaseTimeouts,
        statement_cache_size: int = 256,
    ) -> None:
        """``statement_cache_size=0`` behind PgBouncer in transaction mode: asyncpg then uses
        unnamed statements, which no other client's transaction can find or collide with."""
        self._dsn = dsn
        self._statement_cache_size = statement_cache_size
        self._timeouts = timeouts
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        # Queue for a connection in arrival order. The pool's own queue lets a newcomer take a
        # connection that was just handed back before the waiter woken for it runs, so under
        # saturation some waiters lose again and again until their acquire times out (a p99
        # of seconds and 503s in `make bench`). A FIFO semaphore in front keeps it fair.
        self._max_size = max_size
        self._slots = asyncio.Semaphore(max_size)

    @property
    def dsn(self) -> str:
        return self._dsn

    async def open(self) -> None:
        """Connect; when the server is down, stay closed and retry on the next query."""
        async with self._lock:
            if self._pool is not None:
                return
            try:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=1,
                    max_size=self._max_size,
                    timeout=self._timeouts.connect,
                    command_timeout=self._timeouts.statement,
                    statement_cache_size=self._statement_cache_size,
                    reset=_nothing_to_reset,
                )
            except Exception as error:
                if is_database_outage(error):
                    raise DatabaseUnavailable from error
                raise

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        rows = await self.fetch(query, *args, one=True)
        return rows[0] if rows else None

    async def fetch(self, query: str, *args: Any, one: bool = False) -> list[asyncpg.Record]:
        try:
            async with self._connection() as conn:
                if one:
                    row = await conn.fetchrow(query, *args)
                    return [] if row is None else [row]
                return list(await conn.fetch(query, *args))
        except Exception as error:
            if is_database_outage(error):
                raise DatabaseUnavailable from error
            raise

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection within ``pool`` seconds."""
        if self._pool is None:
            await self.open()
        assert self._pool is not None
        pool = self._pool
        async with asyncio.timeout(self._timeouts.pool):  # a slot, then a connection
            await self._slots.acquire()
            try:
                conn = await pool.acquire()
            except BaseException:
                self._slots.release()
                raise
        try:
            yield conn
        except BaseException as error:
            # A connection whose query timed out, or was cut off, waits on the server to
            # confirm the cancel before it could be reused: with the server frozen, that wait
            # is as long as the freeze. Terminate it; the pool opens a new one when needed.
            if not isinstance(error, Exception) or is_database_outage(error):
                terminate_driver_connection(conn)
            raise
        finally:
            try:
                await pool.release(conn)
            except Exception:  # noqa: BLE001 - the answer is had; the connection is not
                # Resetting it failed (the server went away meanwhile): asyncpg terminated it.
                terminate_driver_connection(conn)
            finally:
                self._slots.release()
