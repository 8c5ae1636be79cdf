"""A refresh's rotation on the lean side (ADR 0030): raw asyncpg, one statement to read, one
compare-and-swap statement to write, no transaction of our own and no ORM.

``find`` reads the presented token and its session in one statement (one snapshot, no lock).
``save`` writes the rotation in one statement whose first step moves the session from the
generation it was read at to the next one, only if it is still there and not revoked; the spent
token and the child are written only when that step did. A concurrent writer (another refresh
of the session, a revocation) holds the session's row lock until it commits; PostgreSQL then
checks the condition again on the row as committed, so exactly one of two racing rotations
writes, and the other learns it wrote nothing.
"""

from __future__ import annotations

from gatehouse.modules.auth.application.refresh import RefreshRotations
from gatehouse.modules.auth.domain.model import RefreshToken, Session
from gatehouse.shared.pg import ReadPool

_FIND = """
SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.idle_expires_at, s.absolute_expires_at,
       s.user_agent, host(s.ip) AS ip, s.amr, s.generation, s.revoked_at, s.revoke_reason,
       t.generation AS token_generation, t.created_at AS token_created_at, t.rotated_at
FROM auth_refresh_token t JOIN auth_session s ON s.id = t.session_id
WHERE t.token_hash = $1
"""

# The session moved on only if it is where it was read; then the spent token and the child.
_SAVE = """
WITH bumped AS (
    UPDATE auth_session SET generation = $4, last_used_at = $5, idle_expires_at = $6
    WHERE id = $3 AND generation = $4 - 1 AND revoked_at IS NULL
    RETURNING id
), spent AS (
    UPDATE auth_refresh_token SET rotated_at = $2
    WHERE token_hash = $1 AND EXISTS (SELECT 1 FROM bumped)
)
INSERT INTO auth_refresh_token (token_hash, session_id, generation, created_at)
SELECT $7, id, $8, $9 FROM bumped
RETURNING 1
"""


class AsyncpgRefreshRotations(RefreshRotations):
    def __init__(self, pool: ReadPool) -> None:
        self._pool = pool

    async def find(self, token_hash: bytes) -> tuple[Session, RefreshToken] | None:
        row = await self._pool.fetchrow(_FIND, token_hash)
        if row is None:
            return None
        session = Session(
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
        token = RefreshToken(
            token_hash=token_hash,
            session_id=row["id"],
            generation=row["token_generation"],
            created_at=row["token_created_at"],
            rotated_at=row["rotated_at"],
        )
        return session, token

    async def save(self, session: Session, spent: RefreshToken, child: RefreshToken) -> bool:
        written = await self._pool.fetchrow(
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
        return written is not None
