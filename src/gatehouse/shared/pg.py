"""A raw asyncpg pool for hot read paths (the lean query side), health checks, and the one hot
write that earns it: a refresh's rotation (ADR 0030)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from gatehouse.shared.persistence import DatabaseUnavailable


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


class ReadPool:
    """Created synchronously by the container, opened and closed by the app's lifespan."""

    def __init__(self, dsn: str, *, max_size: int, timeout: float) -> None:
        self._dsn = dsn
        self._timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        # Queue for a connection in arrival order. The pool's own queue lets a newcomer take a
        # connection that was just handed back before the waiter woken for it runs, so under
        # saturation some waiters lose again and again until their acquire times out (a p99
        # of seconds and 503s in `make bench`). A FIFO semaphore in front keeps it fair.
        # A transaction may read through the pool while it holds its connection (a refresh
        # checks the account under the session's lock): at most max_size - 1 of them at once,
        # so a slot is always left for those reads (and a pool of one gets a second connection).
        self._max_size = max(max_size, 2)
        self._slots = asyncio.Semaphore(self._max_size)
        self._transactions = asyncio.Semaphore(self._max_size - 1)

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
                    timeout=self._timeout,
                    command_timeout=self._timeout,
                    statement_cache_size=256,
                    reset=_nothing_to_reset,
                )
            except (OSError, TimeoutError, asyncpg.PostgresError) as error:
                raise DatabaseUnavailable from error

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection in a transaction: committed when the block ends, rolled back when it
        raises. Waiting for a connection is bounded by the pool's timeout; statements by the
        command timeout."""
        if self._pool is None:
            await self.open()
        assert self._pool is not None
        try:
            async with contextlib.AsyncExitStack() as stack:
                async with asyncio.timeout(self._timeout):
                    await stack.enter_async_context(self._transactions)
                    await stack.enter_async_context(self._slots)
                    conn = await stack.enter_async_context(self._pool.acquire())
                await stack.enter_async_context(conn.transaction())
                yield conn
        except (
            OSError,
            TimeoutError,
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
        ) as error:
            raise DatabaseUnavailable from error

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        rows = await self.fetch(query, *args, one=True)
        return rows[0] if rows else None

    async def fetch(self, query: str, *args: Any, one: bool = False) -> list[asyncpg.Record]:
        if self._pool is None:
            await self.open()
        assert self._pool is not None
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._slots,
                self._pool.acquire() as conn,
            ):
                if one:
                    row = await conn.fetchrow(query, *args)
                    return [] if row is None else [row]
                return list(await conn.fetch(query, *args))
        except (
            OSError,
            TimeoutError,
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
        ) as error:
            raise DatabaseUnavailable from error
