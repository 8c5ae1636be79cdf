"""Issue 17 item 4: does a request cost the same when the tables are large? ``GET /me``,
``POST /auth/refresh`` and ``POST /auth/login`` with a handful of rows, then with 1 000 000 users
and 5 000 000 session and refresh-token rows loaded with COPY, plus the query plans.

    GATEHOUSE_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/scale.py [--users 1000000] [--rows 5000000] [--keep]

Only the scratch database ``gatehouse_bench_scale`` is created, loaded and dropped at the end
(``--keep`` keeps it). Redis: ``GATEHOUSE_BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/15``
(nothing is flushed). As ``admin_scale.py``: the app runs in this process (httpx over ASGI, real
lifespan, PostgreSQL and Redis), each figure is sequential requests' latency without a network
hop, so it shows what the plans cost at each size, not throughput (``make bench``).

The load (``copy_*``): users, then sessions (half of ``--rows``) spread over the users, each with
one refresh token (the other half), through asyncpg's binary COPY in batches, with every index
in place, then ``VACUUM ANALYZE``. Ids are sequential within a random prefix, as time-ordered
UUIDv7 ids would be; token hashes are SHA-256, as stored. One bcrypt hash serves every loaded
user (hashing is not what is measured); the measured user registers through the app.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import secrets
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import bcrypt
import httpx
from asgi_lifespan import LifespanManager

from bench.admin_scale import recreate, scratch, show, timed
from gatehouse.main.app import create_app
from gatehouse.main.cli import migrate
from gatehouse.main.logging import configure_logging
from gatehouse.main.settings import Settings
from gatehouse.modules.accounts.adapters.views import _BY_ID
from gatehouse.modules.auth.adapters.rotations import _FIND

SCRATCH = "gatehouse_bench_scale"
EMAIL, PASSWORD = "measured@bench.example", "correct horse battery staple"
BATCH = 100_000
USER_COLUMNS: tuple[str, ...] = ("id", "email", "password_hash", "display_name")
USER_COLUMNS += ("email_verified_at", "created_at", "updated_at")
SESSION_COLUMNS: tuple[str, ...] = ("id", "user_id", "created_at", "last_used_at")
SESSION_COLUMNS += ("idle_expires_at", "absolute_expires_at", "user_agent", "ip", "amr")
SESSION_COLUMNS += ("generation",)
TOKEN_COLUMNS = ("token_hash", "session_id", "generation", "created_at")


def _ids(prefix: int, count: int) -> Iterator[uuid.UUID]:
    return (uuid.UUID(int=prefix + i) for i in range(count))


async def _copy(
    conn: asyncpg.Connection, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]
) -> None:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            await conn.copy_records_to_table(table, records=batch, columns=columns)
            batch = []
    if batch:
        await conn.copy_records_to_table(table, records=batch, columns=columns)


async def load(dsn: str, users: int, rows: int) -> dict[str, float]:
    """COPY ``users`` users and ``rows`` session and refresh-token rows; seconds per step."""
    now = datetime.now(UTC)
    user_prefix, session_prefix = secrets.randbits(64) << 64, secrets.randbits(64) << 64
    password_hash = bcrypt.hashpw(b"not measured", bcrypt.gensalt(12)).decode()
    sessions = rows // 2
    seconds: dict[str, float] = {}
    steps = {
        "users": (
            "accounts_user",
            USER_COLUMNS,
            (
                (uid, f"scale{i}@example.com", password_hash, f"Scale {i}", now, now, now)
                for i, uid in enumerate(_ids(user_prefix, users))
            ),
        ),
        "sessions": (
            "auth_session",
            SESSION_COLUMNS,
            (
                (
                    sid,
                    uuid.UUID(int=user_prefix + i % users),
                    now,
                    now,
                    now + timedelta(days=7),
                    now + timedelta(days=30),
                    "scale",
                    "10.0.0.1",
                    ["pwd"],
                    0,
                )
                for i, sid in enumerate(_ids(session_prefix, sessions))
            ),
        ),
        "refresh tokens": (
            "auth_refresh_token",
            TOKEN_COLUMNS,
            (
                (hashlib.sha256(sid.bytes).digest(), sid, 0, now)
                for sid in _ids(session_prefix, rows - sessions)
            ),
        ),
    }
    conn = await asyncpg.connect(dsn)
    try:
        for step, (table, columns, records) in steps.items():
            start = time.perf_counter()
            await _copy(conn, table, columns, records)
            seconds[step] = time.perf_counter() - start
        start = time.perf_counter()
        await conn.execute("VACUUM ANALYZE accounts_user, auth_session, auth_refresh_token")
        seconds["vacuum analyze"] = time.perf_counter() - start
    finally:
        await conn.close()
    return seconds


async def measure(settings: Settings, n: int, logins: int) -> dict[str, Any]:
    app = create_app(settings)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000)),
            base_url="http://bench",
        ) as client,
    ):

        async def sign_in() -> httpx.Response:
            body = {"email": EMAIL, "password": PASSWORD}
            return await client.post("/api/v1/auth/login", json=body)

        pair = (await sign_in()).raise_for_status().json()
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        chain = [pair["refresh_token"]]

        async def refresh() -> httpx.Response:
            answer = await client.post("/api/v1/auth/refresh", json={"refresh_token": chain[-1]})
            if answer.status_code == 200:
                chain.append(answer.json()["refresh_token"])
            return answer

        me: Callable[[], Awaitable[httpx.Response]] = lambda: client.get(  # noqa: E731
            "/api/v1/me", headers=headers
        )
        return {
            "GET /me": await timed(me, n),
            "POST /auth/refresh": await timed(refresh, n),
            "POST /auth/login": await timed(sign_in, logins),
            "_chain": chain[-1],
        }


async def plans(dsn: str, token: str) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the hot statements at this size."""
    conn = await asyncpg.connect(dsn)
    try:
        user_id = await conn.fetchval("SELECT id FROM accounts_user WHERE email = $1", EMAIL)
        cases: dict[str, tuple[str, list[Any]]] = {
            "GET /me: the user by id (read side)": (_BY_ID, [user_id]),
            "refresh: the token and its session": (
                _FIND,
                [hashlib.sha256(token.encode()).digest()],
            ),
            "login: the user by email": ("SELECT * FROM accounts_user WHERE email = $1", [EMAIL]),
        }
        explained = {}
        for name, (query, args) in cases.items():
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {query}", *args)
            explained[name] = "\n".join(row[0] for row in rows)
        return explained
    finally:
        await conn.close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=5_000_000, help="sessions + refresh tokens")
    parser.add_argument("--requests", type=int, default=300, help="per /me and refresh figure")
    parser.add_argument("--logins", type=int, default=10, help="login samples (bcrypt cost 12)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args(argv)
    database = scratch(SCRATCH)
    if database is None:
        return 1
    admin_dsn, dsn = database.admin_dsn, database.dsn
    settings = database.settings(
        Path(__file__).parent / ".data" / "scale",
        log_level="warning",
        rate_limit_login="1000000/minute",  # one client signs in again and again
        rate_limit_refresh="1000000/minute",
    )
    configure_logging(settings.log_level, json=settings.log_json)  # no request lines
    await recreate(admin_dsn, SCRATCH)
    try:
        await asyncio.to_thread(migrate, settings)
        await register(settings, dsn)
        small = await measure(settings, args.requests, args.logins)
        show("the measured user alone", {k: v for k, v in small.items() if k[0] != "_"})
        loaded = await load(dsn, args.users, args.rows)
        steps = ", ".join(f"{name} {s:.1f} s" for name, s in loaded.items())
        print(f"\nloaded {args.users:,} users and {args.rows:,} session and token rows: {steps}")
        large = await measure(settings, args.requests, args.logins)
        show(
            f"{args.users:,} users, {args.rows:,} rows",
            {k: v for k, v in large.items() if k[0] != "_"},
        )
        print()
        for name in ("GET /me", "POST /auth/refresh", "POST /auth/login"):
            ratio = large[name]["p50"] / small[name]["p50"]
            print(f"  {name:20} p50 large / small {ratio:5.2f} (target <= 1.10)")
        for name, plan in (await plans(dsn, large["_chain"])).items():
            print(f"\n-- plan: {name}\n{plan}")
    finally:
        if not args.keep:
            await recreate(admin_dsn, SCRATCH, drop_only=True)
    return 0


async def register(settings: Settings, dsn: str) -> None:
    """The measured user, through the app (a real cost-12 hash), verified in SQL."""
    app = create_app(settings)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000)),
            base_url="http://bench",
        ) as client,
    ):
        body = {"email": EMAIL, "password": PASSWORD}
        (await client.post("/api/v1/auth/register", json=body)).raise_for_status()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE accounts_user SET email_verified_at = now()")
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
