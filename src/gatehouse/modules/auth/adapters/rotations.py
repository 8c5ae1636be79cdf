"""A refresh's rotation on the lean side (ADR 0030): raw asyncpg, two statements in one
transaction, no ORM.

The lock statement finds the presented token by its hash and locks its session row. When it
had to wait for that lock (another refresh of the same session), PostgreSQL hands back the
session as committed since, while the token's columns may be as they were before: a token whose
generation is the session's current one has not been rotated (a rotation moves the session's
generation in the same transaction), so the use case decides ``rotate`` on what it reads here
and hands anything else to the unit of work, which reads everything again under its own lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg

from gatehouse.modules.auth.application.refresh import RefreshRotations
from gatehouse.modules.auth.domain.model import RefreshToken, Session
from gatehouse.shared.pg import ReadPool

_LOCK = """
SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.idle_expires_at, s.absolute_expires_at,
       s.user_agent, host(s.ip) AS ip, s.amr, s.generation, s.revoked_at, s.revoke_reason,
       t.generation AS token_generation, t.created_at AS token_created_at, t.rotated_at
FROM auth_refresh_token t JOIN auth_session s ON s.id = t.session_id
WHERE t.token_hash = $1
FOR UPDATE OF s
"""

# The spent token, the session, the child: one round trip.
_SAVE = """
WITH spent AS (
    UPDATE auth_refresh_token SET rotated_at = $2 WHERE token_hash = $1
), bumped AS (
    UPDATE auth_session SET generation = $4, last_used_at = $5, idle_expires_at = $6
    WHERE id = $3
)
INSERT INTO auth_refresh_token (token_hash, session_id, generation, created_at)
VALUES ($7, $3, $8, $9)
"""


class _Family:
    def __init__(self, conn: asyncpg.Connection, row: asyncpg.Record, token_hash: bytes) -> None:
        self._conn = conn
        self.session = Session(
            id=row["id"],
            user_id=row["user_id"],
            created_at=row["created_at"],
            last_used_at=row["last_used_at"],
            idle_expires_at=row["idle_expires_at"],
            absolute_expires_at=row["absolute_expires_at"],
            user_agent=row["user_agent"],
            ip=row["ip"],
            amr=tuple(row["amr"]),
            generation=row["generation"],
            revoked_at=row["revoked_at"],
            revoke_reason=row["revoke_reason"],
        )
        self.token = RefreshToken(
            token_hash=token_hash,
            session_id=row["id"],
            generation=row["token_generation"],
            created_at=row["token_created_at"],
            rotated_at=row["rotated_at"],
        )

    async def save(self, child: RefreshToken) -> None:
        session, spent = self.session, self.token
        await self._conn.execute(
            _SAVE,
            spent.token_hash,
            spent.rotated_at,
            session.id,
            session.generation,
            session.last_used_at,
            session.idle_expires_at,
            child.token_hash,
            child.generation,
            child.created_at,
        )


class AsyncpgRefreshRotations(RefreshRotations):
    def __init__(self, pool: ReadPool) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def locked(self, token_hash: bytes) -> AsyncIterator[_Family | None]:
        async with self._pool.transaction() as conn:
            row = await conn.fetchrow(_LOCK, token_hash)
            yield None if row is None else _Family(conn, row, token_hash)
