"""Target (d): the floor for a refresh-token rotation, with no framework layers beyond FastAPI.

``POST /api/v1/auth/refresh`` with ``{"refresh_token": "…"}``: the least a correct rotation
needs, with raw asyncpg on Gatehouse's own tables (the tokens come from Gatehouse's logins on
the same database, so both targets rotate the same kind of session):

- one statement (autocommit): find the presented token by its SHA-256 hash, lock its session
  row (``FOR UPDATE OF s``) only if the token is the session's live generation, not rotated,
  the session active and its account active; retire the token, bump the session's generation
  and idle expiry, insert the child's hash; return what the access token needs;
- sign an EdDSA (Ed25519) access token with PyJWT, Gatehouse's claims and header.

The child is 256 random bits. No grace replay, no reuse detection (anything but the live token
is a 401), no audit, no rate limit: those are what Gatehouse adds on top of this floor.
Configured from the environment by ``bench/run.py``:

- ``BENCH_PG_DSN``, ``BENCH_PG_POOL_SIZE``: as target (b)
- ``BENCH_JWT_PRIVATE_KEY``: the Ed25519 private key (PEM) to sign with
- ``BENCH_JWT_ISSUER`` / ``BENCH_JWT_AUDIENCE``: ``iss`` / ``aud``
- ``BENCH_ACCESS_TTL`` / ``BENCH_IDLE_TTL``: seconds, Gatehouse's defaults
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bench.targets.serving import parse_args, pin_to, serve

ROTATE = """
WITH cur AS (
    SELECT s.id, s.user_id, s.generation, s.amr, s.absolute_expires_at, u.roles
    FROM auth_refresh_token t
    JOIN auth_session s ON s.id = t.session_id
    JOIN accounts_user u ON u.id = s.user_id
    WHERE t.token_hash = $1 AND t.rotated_at IS NULL AND t.generation = s.generation
      AND s.revoked_at IS NULL AND s.idle_expires_at > now() AND s.absolute_expires_at > now()
      AND u.is_active
    FOR UPDATE OF s
), spent AS (
    UPDATE auth_refresh_token SET rotated_at = now()
    WHERE token_hash = $1 AND EXISTS (SELECT 1 FROM cur)
), bumped AS (
    UPDATE auth_session AS s
    SET generation = cur.generation + 1, last_used_at = now(),
        idle_expires_at = least(now() + make_interval(secs => $3), cur.absolute_expires_at)
    FROM cur WHERE s.id = cur.id
    RETURNING s.id, s.generation, s.idle_expires_at
), child AS (
    INSERT INTO auth_refresh_token (token_hash, session_id, generation, created_at)
    SELECT $2, id, generation, now() FROM bumped
)
SELECT cur.id, cur.user_id, cur.amr, cur.roles,
       extract(epoch FROM bumped.idle_expires_at - now())::int AS refresh_expires_in
FROM cur JOIN bumped ON bumped.id = cur.id
"""


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=256)


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii", "replace")).digest()


def create_app(
    dsn: str,
    pool_size: int,
    private_key: Ed25519PrivateKey,
    *,
    issuer: str,
    audience: str,
    access_ttl: int,
    idle_ttl: int,
) -> FastAPI:
    pools: list[asyncpg.Pool] = []
    headers = {"kid": "bench", "typ": "at+jwt"}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)
        pools.append(pool)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)

    @app.post("/api/v1/auth/refresh", response_model=None)
    async def refresh(body: RefreshIn) -> dict[str, Any] | JSONResponse:
        child = secrets.token_urlsafe(32)
        row = await pools[0].fetchrow(ROTATE, _hash(body.refresh_token), _hash(child), idle_ttl)
        if row is None:
            return JSONResponse({"detail": "refresh_token_invalid"}, status_code=401)
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": str(row["user_id"]),
            "exp": now + access_ttl,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "sid": str(row["id"]),
            "roles": list(row["roles"]),
            "amr": list(row["amr"]),
            "client_id": "first-party",
        }
        return {
            "access_token": jwt.encode(claims, private_key, algorithm="EdDSA", headers=headers),
            "token_type": "bearer",
            "expires_in": access_ttl,
            "refresh_token": child,
            "refresh_expires_in": max(0, row["refresh_expires_in"]),
        }

    return app


def main() -> None:
    args = parse_args(__doc__ or "")
    pin_to(args.cpu)
    key = load_pem_private_key(os.environ["BENCH_JWT_PRIVATE_KEY"].encode("ascii"), None)
    if not isinstance(key, Ed25519PrivateKey):
        msg = "BENCH_JWT_PRIVATE_KEY must be an Ed25519 private key"
        raise SystemExit(msg)
    app = create_app(
        os.environ["BENCH_PG_DSN"],
        int(os.environ.get("BENCH_PG_POOL_SIZE", "10")),
        key,
        issuer=os.environ["BENCH_JWT_ISSUER"],
        audience=os.environ["BENCH_JWT_AUDIENCE"],
        access_ttl=int(os.environ["BENCH_ACCESS_TTL"]),
        idle_ttl=int(os.environ["BENCH_IDLE_TTL"]),
    )
    serve(app, args.port)


if __name__ == "__main__":
    main()
