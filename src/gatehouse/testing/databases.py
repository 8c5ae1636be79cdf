"""Creating, cloning and dropping test databases on a PostgreSQL server we may administer."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import zlib
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.engine import make_url

from gatehouse.shared.pg import asyncpg_dsn
from gatehouse.testing.aio import run_coroutine
from gatehouse.testing.migrations import alembic_config, migrations_fingerprint

_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
TEMPLATE_PREFIX = "gatehouse_template_"


def _ident(name: str) -> str:
    if not _SAFE_NAME.match(name):
        msg = f"refusing an unusual database name: {name!r}"
        raise ValueError(msg)
    return f'"{name}"'


def database_url(admin_url: str, name: str) -> str:
    """The admin URL pointed at another database on the same server."""
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(4)}".lower()


@contextlib.asynccontextmanager
async def admin_connection(admin_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=10)
    try:
        yield conn
    finally:
        await conn.close()


async def create_database(admin_url: str, name: str, *, template: str | None = None) -> str:
    """Create ``name`` (cloned from ``template`` if given) and return its URL."""
    clause = f" TEMPLATE {_ident(template)}" if template else ""
    async with admin_connection(admin_url) as conn:
        await conn.execute(f"CREATE DATABASE {_ident(name)}{clause}")
    return database_url(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    """Drop ``name``, ending any connection a test leaked (PostgreSQL 13+)."""
    async with admin_connection(admin_url) as conn:
        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")


def template_name() -> str:
    return f"{TEMPLATE_PREFIX}{migrations_fingerprint()}"


async def _ensure_template(admin_url: str, name: str) -> None:
    from alembic import command  # noqa: PLC0415 - keeps this module cheap to import

    building = f"{name}_tmp"
    async with admin_connection(admin_url) as conn:
        # Serialises concurrent test runs that share one server (a CI service, a dev box).
        key = zlib.crc32(name.encode())
        await conn.execute("SELECT pg_advisory_lock($1)", key)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if exists:
                return
            # A run that died half-way leaves only the temporary name behind: never reused.
            await conn.execute(f"DROP DATABASE IF EXISTS {_ident(building)} WITH (FORCE)")
            await conn.execute(f"CREATE DATABASE {_ident(building)}")
            url = database_url(admin_url, building)
            # env.py calls asyncio.run(): give it a thread without a running loop.
            await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
            await conn.execute(f"ALTER DATABASE {_ident(building)} RENAME TO {_ident(name)}")
            await conn.execute(f"ALTER DATABASE {_ident(name)} WITH IS_TEMPLATE true")
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", key)


def ensure_template(admin_url: str) -> str:
    """Migrate a template database once per set of migration files; return its name."""
    name = template_name()
    run_coroutine(lambda: _ensure_template(admin_url, name))
    return name
