"""Fixtures for every suite that needs real infrastructure (see tests/support/infra.py).

Nothing here starts until a test asks for it, so ``pytest tests/unit`` starts no server.
"""

from __future__ import annotations

import os
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
from tests.support.infra import Infra, InfraManager
from tests.support.smtp import SmtpServer

# The real OpenID provider (``oidc_provider``) and the fake one (``fake_oidc``), for every
# suite that asks for them.
pytest_plugins = ["tests.support.oidc_provider", "tests.support.fake_oidc"]

_MANAGER = pytest.StashKey[InfraManager]()


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temp directory every worker of this run sees (the base temp itself without xdist)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return shared / "gatehouse-infra"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # trylast: after the runner has torn the session fixtures down.
    manager = session.config.stash.get(_MANAGER, None)
    if manager is not None:
        manager.finish()


@pytest.fixture(scope="session")
def infra(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Infra]:
    """This worker's migrated database and Redis database number on the run's shared servers."""
    config = request.config
    manager = config.stash.get(_MANAGER, None)
    if manager is None:
        manager = InfraManager(_shared_dir(tmp_path_factory))
        config.stash[_MANAGER] = manager
    yield manager.setup()
    manager.release_worker()


@pytest.fixture(scope="session", autouse=True)
def _mappers() -> None:
    start_mappers()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dev signing keys and the pepper are generated here once per session."""
    return tmp_path_factory.mktemp("gatehouse-data")


@pytest.fixture
def settings(infra: Infra, data_dir: Path) -> Settings:
    return Settings(
        env="test",
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        data_dir=data_dir,
        bcrypt_rounds=4,
        dispatch_in_serve=False,
        # Every test client calls from one address, and the counts outlive a test: the
        # contract's limits are tested on their own (tests/e2e/test_rate_limits.py).
        rate_limit_login="100000/minute",
        rate_limit_register="100000/hour",
        rate_limit_refresh="100000/minute",
        rate_limit_mail_request="100000/hour",
        rate_limit_token_check="100000/minute",
        rate_limit_mfa="100000/minute",
        # Likewise the lockout (tests/e2e/test_lockout.py keeps the contract's values).
        lockout_free_attempts=100000,
        lockout_failures_per_hour=100000,
        smtp_url=None,
        log_json=True,
        _env_file=None,
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
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
