"""Issue 13 item 5: GET /admin/users, its `q` search, login and GET /me with 100 users and with
1 000 000, in one run, plus the query plans (EXPLAIN ANALYZE) of the user list.

    GATEHOUSE_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/admin_scale.py [--users 1000000] [--requests 300]

Only the scratch database ``gatehouse_bench_admin_scale`` is created, loaded and dropped at the
end (``--keep`` keeps it); the URL's own database is used only to create and drop it. Redis:
``GATEHOUSE_BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/15`` (nothing is flushed).

The app runs in this process (httpx over ASGI, real lifespan, real PostgreSQL and Redis), and
each figure is the latency of sequential requests as the client sees them, without a network
hop: what the database's plan costs at each size, not the server's throughput (`make bench`).
The administrator's token comes from a password sign-in with ``admin_requires_mfa`` off: the
MFA check is a claim in the token, the same work either way. Users are loaded in SQL
(``INSERT … SELECT … FROM generate_series``) with the indexes in place, then ANALYZEd.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import make_url

from gatehouse.main.app import create_app
from gatehouse.main.cli import migrate
from gatehouse.main.settings import Settings
from gatehouse.modules.accounts.adapters.views import (
    _ALL,
    email_part,
    name_part,
    prefix_successor,
)
from gatehouse.modules.accounts.application.user_list import UserListPosition
from gatehouse.modules.accounts.entrypoints.http.admin import _encode_position
from gatehouse.shared.pg import asyncpg_dsn

SCRATCH = "gatehouse_bench_admin_scale"
PASSWORD = "correct horse battery staple"  # the bench accounts' password
FIRST: tuple[str, ...] = ("maria", "jose", "anna", "john", "wei", "fatima", "olga")
FIRST += ("pierre", "yuki", "omar", "sofia", "ivan", "lucia", "david", "amira", "li", "noah")
FIRST += ("emma", "raj", "zoe")
LAST: tuple[str, ...] = ("garcia", "smith", "muller", "rossi", "kim", "nguyen", "silva")
LAST += ("kowalski", "dubois", "tanaka", "ahmed", "johnson", "novak", "larsen", "costa")
LAST += ("ivanova", "brown", "wang", "haddad", "okafor")
# Emails begin with the family name, display names with the given name, so `q` exercises
# both parts of the search: "garcia" matches emails, "maria" display names only.
LOAD = """
INSERT INTO accounts_user (id, email, display_name, email_verified_at, created_at, updated_at)
SELECT gen_random_uuid(),
       ($2::text[])[1 + g % 20] || '.' || ($1::text[])[1 + (g * 7) % 20] || g || '@example.com',
       initcap(($1::text[])[1 + (g * 7) % 20]) || ' ' || initcap(($2::text[])[1 + g % 20]),
       now(), now() - g * interval '1 second', now()
FROM generate_series($3::int, $4::int) AS g
"""


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def timed(call: Callable[[], Awaitable[httpx.Response]], n: int) -> dict[str, float]:
    for _ in range(min(20, n)):  # warm-up: prepared statements, pool, caches
        (await call()).raise_for_status()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        answer = await call()
        samples.append((time.perf_counter() - start) * 1000)
        answer.raise_for_status()
    return {"n": n, "p50": statistics.median(samples), "p99": p99(samples), "max": max(samples)}


@dataclass(frozen=True)
class Scratch:
    """A scratch database on the server of ``GATEHOUSE_BENCH_DATABASE_URL``."""

    admin_dsn: str  # the configured database, for CREATE and DROP DATABASE
    url: str  # the scratch database, as Gatehouse's settings take it
    dsn: str  # the same, for asyncpg

    def settings(self, data_dir: Path, **overrides: Any) -> Settings:
        """Gatehouse's defaults on this database and the bench's Redis, plus ``overrides``.

        The register limit is raised: the bench's Redis keeps its windows between runs, and
        every run registers its users from 127.0.0.1 (10 an hour by default)."""
        return Settings(
            _env_file=None,
            database_url=self.url,
            redis_url=os.environ.get("GATEHOUSE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
            data_dir=data_dir,
            **{"rate_limit_register": "1000/minute", **overrides},
        )


def scratch(name: str) -> Scratch | None:
    """The scratch database ``name``; ``None`` (and why, on stderr) without the setting."""
    url = os.environ.get("GATEHOUSE_BENCH_DATABASE_URL")
    if not url:
        print("set GATEHOUSE_BENCH_DATABASE_URL (a role that may CREATE DATABASE)", file=sys.stderr)
        return None
    scratch_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    return Scratch(asyncpg_dsn(url), scratch_url, asyncpg_dsn(scratch_url))


async def recreate(admin_dsn: str, name: str = SCRATCH, *, drop_only: bool = False) -> None:
    """Drop the scratch database ``name`` (a constant of the bench) and create it again."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def load(dsn: str, total: int) -> float:
    """Bulk users up to ``total`` rows in the table (the bench accounts count)."""
    start = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        have = await conn.fetchval("SELECT count(*) FROM accounts_user")
        step = 200_000
        for low in range(have + 1, total + 1, step):
            await conn.execute(LOAD, list(FIRST), list(LAST), low, min(total, low + step - 1))
        await conn.execute("VACUUM ANALYZE accounts_user")
    finally:
        await conn.close()
    return time.perf_counter() - start


async def plans(dsn: str) -> dict[str, str]:
    """EXPLAIN ANALYZE of the list's SQL as the adapter builds it."""
    conn = await asyncpg.connect(dsn)
    try:
        deep_email = await conn.fetchval(
            'SELECT email FROM accounts_user ORDER BY email COLLATE "C" OFFSET 500000 LIMIT 1'
        )
        cases: dict[str, tuple[str, list[Any]]] = {
            "list, first page": (_ALL, ["", 21]),
            "list, deep page (500 000 in)": (_ALL, [deep_email or "", 21]),
        }
        for q in ("garcia", "garcia.maria1"):
            cases[f"q={q}, first page (email part)"] = email_part((q, prefix_successor(q)), "", 21)
        for q in ("maria", "zz"):
            bounds = (q, prefix_successor(q))
            cases[f"q={q}, first page (name part)"] = name_part(bounds, bounds, None, 21)
        explained = {}
        for name, (query, args) in cases.items():
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {query}", *args)
            explained[name] = "\n".join(row[0] for row in rows)
        return explained
    finally:
        await conn.close()


async def cursors(dsn: str) -> dict[str, str]:
    """Cursors of deep pages, as a client would hold after paging that far."""
    conn = await asyncpg.connect(dsn)
    try:
        out = {}
        email = await conn.fetchval(
            'SELECT email FROM accounts_user ORDER BY email COLLATE "C" OFFSET 500000 LIMIT 1'
        )
        if email is not None:
            out["list"] = email
        email = await conn.fetchval(
            "SELECT email FROM accounts_user WHERE email COLLATE \"C\" >= 'garcia' "
            'AND email COLLATE "C" < \'garcib\' ORDER BY email COLLATE "C" OFFSET 20000 LIMIT 1'
        )
        if email is not None:
            out["garcia"] = email
        named = await conn.fetchrow(
            "SELECT lower(display_name) AS key, id FROM accounts_user "
            "WHERE lower(display_name) COLLATE \"C\" >= 'maria' "
            "AND lower(display_name) COLLATE \"C\" < 'marib' "
            'ORDER BY lower(display_name) COLLATE "C", id OFFSET 20000 LIMIT 1'
        )
        encoded = {
            name: _encode_position(UserListPosition(by_name=False, key=key, id=uuid.UUID(int=0)))
            for name, key in out.items()
        }
        if named is not None:
            position = UserListPosition(by_name=True, key=named["key"], id=named["id"])
            encoded["maria"] = _encode_position(position)
        return {name: cursor for name, cursor in encoded.items() if cursor}
    finally:
        await conn.close()


async def measure(settings: Settings, dsn: str, n: int, logins: int) -> dict[str, Any]:
    app = create_app(settings)
    figures: dict[str, Any] = {}
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000)),
            base_url="http://bench",
        ) as client,
    ):
        pair = await client.post(
            "/api/v1/auth/login", json={"email": "admin@bench.example", "password": PASSWORD}
        )
        pair.raise_for_status()
        headers = {"Authorization": f"Bearer {pair.json()['access_token']}"}

        def get(path: str, **params: Any) -> Callable[[], Awaitable[httpx.Response]]:
            return lambda: client.get(path, params=params, headers=headers)

        def sign_in() -> Awaitable[httpx.Response]:
            body = {"email": "member@bench.example", "password": PASSWORD}
            return client.post("/api/v1/auth/login", json=body)

        figures["GET /me"] = await timed(get("/api/v1/me"), n)
        figures["POST /auth/login"] = await timed(sign_in, logins)
        users = "/api/v1/admin/users"
        figures["list, first page"] = await timed(get(users), n)
        deep = await cursors(dsn)
        if "list" in deep:
            figures["list, deep page (500 000 in)"] = await timed(
                get(users, cursor=deep["list"]), n
            )
        for q in ("garcia", "garcia.maria1", "maria", "Zz"):
            figures[f"q={q}"] = await timed(get(users, q=q), n)
        if "maria" in deep:
            figures["q=maria, deep page (20 000 in)"] = await timed(
                get(users, q="maria", cursor=deep["maria"]), n
            )
        if "garcia" in deep:
            figures["q=garcia, deep page (20 000 in)"] = await timed(
                get(users, q="garcia", cursor=deep["garcia"]), n
            )
    return figures


async def bench_accounts(settings: Settings, dsn: str) -> None:
    """An administrator and a member with real (cost 12) password hashes, registered through
    the app, then verified (and the admin made one) in SQL."""
    app = create_app(settings)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000)),
            base_url="http://bench",
        ) as client,
    ):
        for email in ("admin@bench.example", "member@bench.example"):
            body = {"email": email, "password": PASSWORD}
            (await client.post("/api/v1/auth/register", json=body)).raise_for_status()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE accounts_user SET email_verified_at = now()")
        await conn.execute(
            "UPDATE accounts_user SET roles = '{user,admin}' WHERE email = 'admin@bench.example'"
        )
    finally:
        await conn.close()


def show(title: str, figures: dict[str, Any]) -> None:
    print(f"\n== {title}")
    for name, f in figures.items():
        print(f"  {name:38} n={f['n']:<4} p50 {f['p50']:7.2f} ms  p99 {f['p99']:7.2f} ms")


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300, help="per read figure")
    parser.add_argument("--logins", type=int, default=30, help="login samples (bcrypt cost 12)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args(argv)
    database = scratch(SCRATCH)
    if database is None:
        return 1
    admin_dsn, dsn = database.admin_dsn, database.dsn
    settings = database.settings(
        Path(__file__).parent / ".data" / "admin_scale",
        log_level="warning",
        admin_requires_mfa=False,
        rate_limit_login="1000000/minute",
    )
    await recreate(admin_dsn)
    try:
        await asyncio.to_thread(migrate, settings)
        await bench_accounts(settings, dsn)
        await load(dsn, 100)
        small = await measure(settings, dsn, args.requests, args.logins)
        show("100 users", small)
        seconds = await load(dsn, args.users)
        print(f"\nloaded {args.users:,} users in {seconds:.1f} s (with indexes, then ANALYZE)")
        large = await measure(settings, dsn, args.requests, args.logins)
        show(f"{args.users:,} users", large)
        for name, plan in (await plans(dsn)).items():
            print(f"\n-- plan: {name}\n{plan}")
    finally:
        if not args.keep:
            await recreate(admin_dsn, drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
