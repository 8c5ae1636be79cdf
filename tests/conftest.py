"""Fixtures for every suite that needs real infrastructure.

The servers, the template database, the mail sink and the app come from Gatehouse's own pytest
plugin (``gatehouse.testing``, loaded through its ``pytest11`` entry point; docs/testing.md),
the one other teams use: the fixtures here are thin names over it. Our suite keeps one database
per xdist worker (``infra``) and isolates a test by savepoint or unique keys, which is faster
than the plugin's database per test (``gatehouse_database_url``).

Nothing here starts until a test asks for it, so ``pytest tests/unit`` starts no server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from gatehouse.main.modules import start_mappers
from gatehouse.main.settings import Settings
from gatehouse.testing.aio import run_coroutine
from gatehouse.testing.app import testing_settings
from gatehouse.testing.databases import create_database, drop_database, unique_name
from gatehouse.testing.infra import Infra
from gatehouse.testing.mail import MailSink

# The real OpenID provider (``oidc_provider``) and the fake one (``fake_oidc``), for every
# suite that asks for them.
pytest_plugins = ["tests.support.oidc_provider", "tests.support.fake_oidc"]


@pytest.fixture(scope="session")
def infra(gatehouse_infra: Infra) -> Infra:
    """This worker's migrated database and Redis database number on the run's shared servers."""
    return gatehouse_infra


@pytest.fixture(scope="session", autouse=True)
def _mappers() -> None:
    start_mappers()


@pytest.fixture(scope="session")
def data_dir(gatehouse_data_dir: Path) -> Path:
    """Dev signing keys and the pepper are generated here once per session."""
    return gatehouse_data_dir


@pytest.fixture
def settings(infra: Infra, data_dir: Path) -> Settings:
    """The worker's database and Redis; no mail sent (``mailing`` in tests/e2e turns it on)."""
    return testing_settings(
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        data_dir=data_dir,
        dispatch_in_serve=False,
        smtp_url=None,
    )


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(infra.database_url, pool_size=5, max_overflow=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that really commit: use unique keys, or clean up what the test needs clean."""
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest_asyncio.fixture(loop_scope="session")
async def db_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield conn
        finally:
            if outer.is_active:
                await outer.rollback()


@pytest.fixture
def tx_session_factory(db_connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``db_connection``: commits are savepoints; the test's end undoes them all.

    Hand this to a unit of work for an isolated repository test.
    """
    return async_sessionmaker(
        bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest_asyncio.fixture(loop_scope="session")
async def db_session(
    tx_session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """An isolated session for repository tests: everything it does is undone afterwards."""
    async with tx_session_factory() as session:
        yield session


@pytest.fixture
def own_database(infra: Infra, settings: Settings) -> Iterator[Settings]:
    """``settings`` on a database of the test's own, cloned from the migrated template: the
    outbox dispatchers of the processes a test starts then send that test's mails only, not
    every mail the worker's other tests left behind."""
    name = unique_name("own")
    admin = infra.admin_database_url
    url = run_coroutine(lambda: create_database(admin, name, template=infra.template_name))
    yield settings.model_copy(update={"database_url": url})
    run_coroutine(lambda: drop_database(admin, name))


@pytest.fixture
def smtp_server(mail_sink: MailSink) -> MailSink:
    """The plugin's mail sink, emptied, accepting and running for this test."""
    return mail_sink
