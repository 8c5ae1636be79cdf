"""The import rate: 100 000 users from a JSON Lines file into PostgreSQL (issue 13, item 3).

Creates its own scratch database (``gatehouse_bench_import``, dropped and recreated on every run
and dropped at the end; no other database is touched) on the server of
``GATEHOUSE_BENCH_DATABASE_URL`` (else the embedded one under ``bench/.data/``), migrates it,
writes a JSONL file of ``--users`` users, each with a bcrypt ``$2b$`` hash computed once and
reused (hashing is not what is measured), then runs ``gatehouse users import``'s code path on it
in-process: each line parsed, batches of 1000 through ``ImportUsersHandler``. It prints
users/second for the first run (every user created) and for a second run over the same file
(every user skipped as ``already exists``: resuming). The target is 5 000 users/s.

    .venv/bin/python -m bench.import_users [--users 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import bcrypt
from sqlalchemy.engine import make_url

from gatehouse.main.cli import migrate
from gatehouse.main.embedded import embedded_infrastructure
from gatehouse.main.import_cli import import_users
from gatehouse.main.settings import Settings
from gatehouse.shared.pg import asyncpg_dsn

DATABASE = "gatehouse_bench_import"
TARGET = 5000  # users a second
DATA_DIR = Path(__file__).resolve().parent / ".data"


async def _execute(url: str, *statements: str) -> None:
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(asyncpg_dsn(admin), timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _count(url: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM accounts_user"))
    finally:
        await connection.close()


def write_users(path: Path, users: int) -> None:
    hashed = bcrypt.hashpw(b"correct horse battery staple", bcrypt.gensalt(10)).decode()
    with path.open("w", encoding="utf-8") as out:
        for n in range(users):
            line: dict[str, object] = {
                "email": f"user{n:07d}@bench.example.com",
                "password_hash": hashed,
            }
            if n % 3 == 0:
                line |= {"display_name": f"User {n}", "email_verified": True}
            out.write(json.dumps(line) + "\n")


def timed_import(settings: Settings, path: Path) -> tuple[float, str]:
    """Seconds for one ``gatehouse users import`` run in-process, and what it printed."""
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        asyncio.run(import_users(settings, path))
    return time.perf_counter() - start, printed.getvalue().strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    external = os.environ.get("GATEHOUSE_BENCH_DATABASE_URL") or None
    base = Settings(
        _env_file=None,
        data_dir=DATA_DIR,
        database_url=external,
        redis_url=os.environ.get("GATEHOUSE_BENCH_REDIS_URL") or None,
        log_level="warning",
    )
    with embedded_infrastructure(base) as resolved, tempfile.TemporaryDirectory() as scratch:
        assert resolved.database_url is not None
        url = make_url(resolved.database_url).set(database=DATABASE)
        bench_url = url.render_as_string(hide_password=False)
        asyncio.run(
            _execute(
                resolved.database_url,
                f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)',
                f'CREATE DATABASE "{DATABASE}"',
            )
        )
        try:
            settings = resolved.model_copy(update={"database_url": bench_url})
            migrate(settings)
            source = Path(scratch) / "users.jsonl"
            start = time.perf_counter()
            write_users(source, args.users)
            print(
                f"wrote {args.users} users to a JSONL file in {time.perf_counter() - start:.1f} s"
            )

            seconds, printed = timed_import(settings, source)
            created = asyncio.run(_count(bench_url))
            rate = args.users / seconds
            verdict = "ok" if rate >= TARGET and created == args.users else "MISS"
            print(f"first run:  {printed}; {seconds:.2f} s, {rate:,.0f} users/s  [{verdict}]")
            seconds, printed = timed_import(settings, source)
            print(
                f"second run: {printed}; {seconds:.2f} s, {args.users / seconds:,.0f} users/s "
                "(resuming: every user already exists)"
            )
            print(f"target: {TARGET:,} users/s; {created} users in the table")
        finally:
            asyncio.run(
                _execute(
                    resolved.database_url, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
