"""Session revocation: PostgreSQL is the truth, Redis a denylist that makes the check cheap.

The denylist only has to cover sessions revoked within the last access-token lifetime (older
access tokens have expired anyway), so it can always be rebuilt from PostgreSQL. A marker key
says "this Redis holds a complete denylist": after a flush the marker is gone and every check
asks PostgreSQL until the denylist is rebuilt; with Redis down every check asks PostgreSQL
(and, for a few seconds after each failure, without waiting on Redis first: ``RedisOutage``).

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

from gatehouse.modules.auth.adapters.rate_limits import RedisOutage
from gatehouse.modules.auth.application.ports import SessionRevocations
from gatehouse.shared.coalescing import Coalescer
from gatehouse.shared.db_outage import DatabaseUnavailable
from gatehouse.shared.pg import ReadPool

log = logging.getLogger("gatehouse.auth")

PREFIX = "gatehouse:session-revoked:"
READY = PREFIX + "ready"
REBUILDING = PREFIX + "rebuilding"
SYNCING = PREFIX + "syncing"
SYNC_LOOKBACK_SECONDS = 60  # far longer than a revoking transaction takes to commit

_LIVE = "SELECT id FROM auth_session WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL"
_RECENTLY_REVOKED = (
    "SELECT id FROM auth_session WHERE revoked_at > now() - make_interval(secs => $1)"
)


class RedisSessionRevocations(SessionRevocations):
    def __init__(self, redis: Redis, pool: ReadPool, *, window_seconds: int) -> None:
        self._redis = redis
        self._pool = pool
        self._window = window_seconds
        self._checks = Coalescer(self._are_revoked)
        self._outage = RedisOutage("session checks", fallback="asked of PostgreSQL")

    async def is_revoked(self, session_id: uuid.UUID) -> bool:
        return await self._checks.get(session_id)

    async def _are_revoked(self, session_ids: list[uuid.UUID]) -> list[bool]:
        if self._outage.ongoing:  # Redis failed a moment ago: do not wait on it again yet
            return await self._from_postgres(session_ids)
        try:
            ready, *revoked = await self._redis.mget(
                READY, *(f"{PREFIX}{session_id}" for session_id in session_ids)
            )
        except (RedisError, OSError):
            self._outage.began()
            return await self._from_postgres(session_ids)
        if ready is None:  # never built, or flushed: PostgreSQL answers while we rebuild
            await self._rebuild()
            return await self._from_postgres(session_ids)
        return [value is not None for value in revoked]

    async def revoked(self, session_ids: list[uuid.UUID]) -> None:
        if not session_ids:
            return
        try:
            await self._write(session_ids)
        except (RedisError, OSError):
            # PostgreSQL already holds the revocation; readers that cannot reach Redis ask it,
            # and the next sync (any process's) copies it to Redis for those that can.
            log.warning("revocation not copied to Redis", extra={"sessions": len(session_ids)})

    async def _from_postgres(self, session_ids: list[uuid.UUID]) -> list[bool]:
        """A session that is revoked or does not exist (deleted) counts as revoked."""
        live = {row["id"] for row in await self._pool.fetch(_LIVE, session_ids)}
        return [session_id not in live for session_id in session_ids]

    async def sync(self, interval_seconds: float) -> int:
        """Copy the last minute's revocations to Redis again, if no process did in this interval.

        Returns how many were copied (0 when another process holds this interval's turn).
        """
        try:
            if not await self._redis.set(SYNCING, b"1", nx=True, px=int(interval_seconds * 1000)):
                return 0
            rows = await self._pool.fetch(_RECENTLY_REVOKED, SYNC_LOOKBACK_SECONDS)
            await self._write([row["id"] for row in rows])
        except (RedisError, OSError, DatabaseUnavailable):
            return 0
        return len(rows)

    async def _write(self, session_ids: list[uuid.UUID], *, complete: bool = False) -> None:
        """Denylist the sessions; ``complete``: they are all the window's, set the marker."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.set(f"{PREFIX}{session_id}", b"1", ex=self._window)
            if complete:
                pipe.set(READY, b"1")
                pipe.delete(REBUILDING)
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
