"""A raw asyncpg pool for hot read paths (the lean query side) and health checks."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from gatehouse.shared.persistence import DatabaseUnavailable


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """``postgresql+asyncpg://…`` → the libpq-style DSN asyncpg takes."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class ReadPool:
    """Created synchronously by the container, opened and closed by the app's lifespan."""

    def __init__(
        self, dsn: str, *, max_size: int, timeout: float, statement_cache_size: int = 256
    ) -> None:
        """``statement_cache_size=0`` behind PgBouncer in transaction mode: asyncpg then uses
        unnamed statements, which no other client's transaction can find or collide with."""
        self._dsn = dsn
        self._statement_cache_size = statement_cache_size
        self._max_size = max_size
        self._timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        # Queue for a connection in arrival order. The pool's own queue lets a newcomer take a
        # connection that was just handed back before the waiter woken for it runs, so under
        # saturation some waiters lose again and again until their acquire times out (a p99
        # of seconds and 503s in `make bench`). A FIFO semaphore in front keeps it fair.
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
                    timeout=self._timeout,
                    command_timeout=self._timeout,
                    statement_cache_size=self._statement_cache_size,
                )
            except (OSError, TimeoutError, asyncpg.PostgresError) as error:
                raise DatabaseUnavailable from error

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

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
