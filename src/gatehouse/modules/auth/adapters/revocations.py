"""Session revocation: PostgreSQL is the truth, Redis a denylist that makes the check cheap.

The denylist only has to cover sessions revoked within the last access-token lifetime (older
access tokens have expired anyway), so it can always be rebuilt from PostgreSQL. A marker key
says "this Redis server holds a complete denylist": its value is the ``run_id`` of the server
that built it, which the server writes itself at the end of the rebuild. A check trusts the
denylist only when the marker names the server this process is connected to
(``RedisServer``): after a flush the marker is gone, and after a failover to a replica or a
restart from an older snapshot (which may have lost the last revocations written before) it
names another server. Either way every check asks PostgreSQL until the denylist is rebuilt on
this server. With Redis down every check asks PostgreSQL (and, for a few seconds after any of
the process's Redis users failed, without waiting on Redis first: ``RedisHealth``).

A revocation whose Redis write fails (a fault between one process and a Redis the others still
read) is copied over by ``sync``, which some process runs every few seconds: every recent
revocation in PostgreSQL is written to Redis again.

Concurrent checks are coalesced: one ``MGET`` (or one PostgreSQL query) answers every check that
arrived while the previous one was in flight (``gatehouse.shared.coalescing``).
"""

from __future__ import annotations

import logging
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gatehouse.modules.auth.application.ports import SessionRevocations
from gatehouse.shared.coalescing import Coalescer
from gatehouse.shared.db_outage import DatabaseUnavailable
from gatehouse.shared.pg import ReadPool
from gatehouse.shared.redis_health import RedisHealth, RedisServer

log = logging.getLogger("gatehouse.auth")

PREFIX = "gatehouse:session-revoked:"
READY = PREFIX + "ready"
REBUILDING = PREFIX + "rebuilding"
SYNCING = PREFIX + "syncing"
SYNC_LOOKBACK_SECONDS = 60  # far longer than a revoking transaction takes to commit

# The end of a rebuild, on the connection that wrote the denylist: the server stamps the marker
# with its own run_id (a replica that copies the marker keeps the master's, not its own).
_STAMP = """
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
redis.call('SET', KEYS[1], run_id)
redis.call('DEL', KEYS[2])
return run_id
"""

_LIVE = "SELECT id FROM auth_session WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL"
_RECENTLY_REVOKED = (
    "SELECT id FROM auth_session WHERE revoked_at > now() - make_interval(secs => $1)"
)


class RedisSessionRevocations(SessionRevocations):
    def __init__(
        self,
        redis: Redis,
        pool: ReadPool,
        *,
        health: RedisHealth,
        server: RedisServer,
        window_seconds: int,
    ) -> None:
        self._redis = redis
        self._pool = pool
        self._health = health
        self._server = server
        self._window = window_seconds
        self._checks = Coalescer(self._are_revoked)
        self._stamp = redis.register_script(_STAMP)

    async def is_revoked(self, session_id: uuid.UUID) -> bool:
        return await self._checks.get(session_id)

    async def _are_revoked(self, session_ids: list[uuid.UUID]) -> list[bool]:
        if not self._health.usable():  # Redis failed a moment ago: do not wait on it again
            return await self._from_postgres(session_ids)
        try:
            ready, *revoked = await self._redis.mget(
                READY, *(f"{PREFIX}{session_id}" for session_id in session_ids)
            )
        except (RedisError, OSError):
            self._health.failed("session checks", "asked of PostgreSQL")
            return await self._from_postgres(session_ids)
        self._health.answered()
        if ready is None or ready != self._server.run_id:
            # Never built here, flushed, or built on another server (a failover, a restart):
            # it may lack the last revocations. PostgreSQL answers while we rebuild.
            await self._rebuild()
            return await self._from_postgres(session_ids)
        return [value is not None for value in revoked]

    async def revoked(self, session_ids: list[uuid.UUID]) -> None:
        if not session_ids:
            return
        # PostgreSQL already holds the revocation; readers that cannot reach Redis ask it, and
        # the next sync (any process's) copies it to Redis for those that can.
        if not self._health.usable():
            log.warning("revocation not copied to Redis", extra={"sessions": len(session_ids)})
            return
        try:
            await self._write(session_ids)
        except (RedisError, OSError):
            self._health.failed("revocation", "left to the sync")
            return
        self._health.answered()

    async def _from_postgres(self, session_ids: list[uuid.UUID]) -> list[bool]:
        """A session that is revoked or does not exist (deleted) counts as revoked."""
        live = {row["id"] for row in await self._pool.fetch(_LIVE, session_ids)}
        return [session_id not in live for session_id in session_ids]

    async def sync(self, interval_seconds: float) -> int:
        """Copy the last minute's revocations to Redis again, if no process did in this interval.

        Returns how many were copied (0 when another process holds this interval's turn).
        """
        if not self._health.usable():
            return 0
        try:
            if not await self._redis.set(SYNCING, b"1", nx=True, px=int(interval_seconds * 1000)):
                self._health.answered()
                return 0
            rows = await self._pool.fetch(_RECENTLY_REVOKED, SYNC_LOOKBACK_SECONDS)
            await self._write([row["id"] for row in rows])
        except (RedisError, OSError):
            self._health.failed("revocation sync", "skipped")
            return 0
        except DatabaseUnavailable:
            return 0
        self._health.answered()
        return len(rows)

    async def _write(self, session_ids: list[uuid.UUID], *, complete: bool = False) -> None:
        """Denylist the sessions; ``complete``: they are all the window's, so the server they
        were written to stamps the marker (one pipeline: one connection, one server)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.set(f"{PREFIX}{session_id}", b"1", ex=self._window)
            if complete:
                await self._stamp(keys=[READY, REBUILDING], client=pipe)
            await pipe.execute()

    async def _rebuild(self) -> None:
        """Copy the recent revocations from PostgreSQL, once, whoever gets the lock."""
        try:
            if not await self._redis.set(REBUILDING, b"1", nx=True, ex=30):
                return
            rows = await self._pool.fetch(_RECENTLY_REVOKED, self._window)
            await self._write([row["id"] for row in rows], complete=True)
        except (RedisError, OSError):
            log.warning("revocation denylist not rebuilt; PostgreSQL answers meanwhile")
