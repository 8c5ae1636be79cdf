"""Fixtures for the production topology: several ``gatehouse serve`` and ``gatehouse worker``
processes on one database and one Redis, an HTTP client to reach them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from gatehouse.main.settings import Settings
from gatehouse.modules.auth.adapters.keys import read_keys
from gatehouse.testing.mail import MailSink
from tests.replicas.journeys import replica_environment
from tests.support.processes import run_gatehouse

# Several servers at once: on one xdist worker at a time, so two such tests never compete
# for the machine's cores.
pytestmark = pytest.mark.xdist_group("replicas")


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
