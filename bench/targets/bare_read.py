"""Target (b): the floor for an authenticated read, with no framework layers beyond FastAPI.

One route verifies an EdDSA (Ed25519) access token with PyJWT and fetches one row by primary key
with raw asyncpg from a pool, then answers the same JSON shape as Gatehouse's ``GET /api/v1/me``.
Configured from the environment by ``bench/run.py``:

- ``BENCH_PG_DSN``: asyncpg DSN of the benchmark database
- ``BENCH_PG_POOL_SIZE``: pool size (Gatehouse's default ``db_pool_size`` is 10)
- ``BENCH_JWT_PUBLIC_KEY``: the Ed25519 public key (PEM) the tokens are signed for
- ``BENCH_JWT_ISSUER`` / ``BENCH_JWT_AUDIENCE``: the expected ``iss`` / ``aud``
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench.targets.serving import parse_args, pin_to, serve

# The same statement Gatehouse's read side prepares for GET /me.
BY_ID = (
    "SELECT id, email, email_verified_at IS NOT NULL AS email_verified, display_name, roles, "
    "is_active, created_at FROM accounts_user WHERE id = $1"
)
REQUIRED = ["exp", "iat", "iss", "aud", "sub", "jti", "sid"]


def create_app(
    dsn: str, pool_size: int, public_key: Ed25519PublicKey, issuer: str, audience: str
) -> FastAPI:
    pools: list[asyncpg.Pool] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)
        pools.append(pool)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)

    @app.get("/api/v1/me", response_model=None)
    async def me(request: Request) -> dict[str, Any] | JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return JSONResponse({"detail": "unauthenticated"}, status_code=401)
        try:
            claims = jwt.decode(
                token,
                public_key,
                algorithms=["EdDSA"],
                audience=audience,
                issuer=issuer,
                options={"require": REQUIRED},
            )
            user_id = uuid.UUID(claims["sub"])
        except (jwt.PyJWTError, ValueError):
            return JSONResponse({"detail": "invalid token"}, status_code=401)
        row = await pools[0].fetchrow(BY_ID, user_id)
        if row is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return {
            "id": str(row["id"]),
            "email": row["email"],
            "email_verified": row["email_verified"],
            "display_name": row["display_name"],
            "roles": list(row["roles"]),
            "mfa": {"totp": False, "email": False, "backup_codes_remaining": 0},
            "created_at": row["created_at"].isoformat(),
        }

    return app


def main() -> None:
    args = parse_args(__doc__ or "")
    pin_to(args.cpu)
    public_key = load_pem_public_key(os.environ["BENCH_JWT_PUBLIC_KEY"].encode("ascii"))
    if not isinstance(public_key, Ed25519PublicKey):
        msg = "BENCH_JWT_PUBLIC_KEY must be an Ed25519 public key"
        raise SystemExit(msg)
    app = create_app(
        os.environ["BENCH_PG_DSN"],
        int(os.environ.get("BENCH_PG_POOL_SIZE", "10")),
        public_key,
        os.environ["BENCH_JWT_ISSUER"],
        os.environ["BENCH_JWT_AUDIENCE"],
    )
    serve(app, args.port)


if __name__ == "__main__":
    main()
