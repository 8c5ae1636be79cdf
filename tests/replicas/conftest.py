"""Fixtures for the production topology: several ``gatehouse serve`` and ``gatehouse worker``
processes on one database and one Redis, an HTTP client to reach them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from gatehouse.main.settings import Settings
from gatehouse.modules.auth.adapters.keys import read_keys
from gatehouse.testing.mail import MailSink
from tests.replicas.journeys import replica_environment
from tests.support.pgbouncer import pgbouncer, pgbouncer_binary
from tests.support.processes import run_gatehouse


@pytest.fixture
def replica_env(tmp_path: Path, smtp_server: MailSink) -> dict[str, str]:
    return replica_environment(tmp_path, smtp_server.url)


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def rotate_keys(settings: Settings, env: dict[str, str]) -> str:
    """``gatehouse keys rotate`` as an operator runs it; the new key's kid."""
    keys = Path(env["GATEHOUSE_KEYS_DIR"])
    before = {key.kid for key in read_keys(keys)}
    result = run_gatehouse(settings, "keys", "rotate", **env)
    assert result.returncode == 0, result.stderr
    [new] = {key.kid for key in read_keys(keys)} - before
    return new


@pytest.fixture
def through_pgbouncer(own_database: Settings, tmp_path: Path) -> Iterator[Settings]:
    """``own_database`` reached through a private PgBouncer in transaction mode with two
    server connections (so clients share them), the setting for it on, and the direct URL
    for migrations and ``LISTEN``."""
    binary = pgbouncer_binary()
    if binary is None:
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    direct = own_database.database_url
    assert direct is not None
    with pgbouncer(binary, direct, tmp_path / "pgbouncer", pool_size=2) as pooled:
        yield own_database.model_copy(
            update={
                "database_url": pooled,
                "database_direct_url": direct,
                "database_pgbouncer": True,
            }
        )
