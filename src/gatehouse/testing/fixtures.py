"""The fixtures of the pytest plugin (``gatehouse.testing.plugin`` offers them; docs/testing.md).

Nothing starts until a test asks: the servers when a test first needs ``gatehouse_infra``, the
mail sink when one first needs ``mail_sink`` or the settings. The async fixtures are
function-scoped and take the event loop pytest-asyncio gives function-scoped fixtures
(``asyncio_default_fixture_loop_scope``): keep it the loop your tests run on.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from gatehouse.testing.mail import MailSink

# The rest is imported when a fixture runs: loading the plugin costs an unrelated run nothing.
if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from gatehouse.main.settings import Settings
    from gatehouse.testing.clones import TemplateClones
    from gatehouse.testing.infra import Infra, InfraManager
    from gatehouse.testing.users import UserFactory

MANAGER: pytest.StashKey[InfraManager] = pytest.StashKey()


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temp directory every worker of this run sees (the base temp itself without xdist)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return shared / "gatehouse-infra"


def finish_infra(session: pytest.Session) -> None:
    """At the very end of the session: let go of the servers (the last one out stops them)."""
    manager = session.config.stash.get(MANAGER, None)
    if manager is not None:
        manager.finish()


@pytest.fixture(scope="session")
def gatehouse_infra(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Infra]:
    """The run's servers (env URLs, else testcontainers, else embedded), the migrated template,
    and this worker's own database (cloned from it) and Redis database number."""
    from gatehouse.testing.infra import InfraManager  # noqa: PLC0415

    config = request.config
    manager = config.stash.get(MANAGER, None)
    if manager is None:
        manager = InfraManager(_shared_dir(tmp_path_factory))
        config.stash[MANAGER] = manager
    yield manager.setup()
    manager.release_worker()


@pytest.fixture(scope="session")
def gatehouse_template_clones(gatehouse_infra: Infra) -> Iterator[TemplateClones]:
    """Per-test databases, cloned ahead of need, dropped behind (gatehouse.testing.clones)."""
    from gatehouse.testing.clones import TemplateClones  # noqa: PLC0415
    from gatehouse.testing.infra import worker_id  # noqa: PLC0415

    clones = TemplateClones(
        gatehouse_infra.admin_database_url,
        gatehouse_infra.template_name,
        prefix=f"gh_test_{worker_id()}_t",
    )
    yield clones
    clones.close()


@pytest.fixture
def gatehouse_database_url(gatehouse_template_clones: TemplateClones) -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own, cloned from the template; dropped
    (in the background) after the test."""
    name, url = gatehouse_template_clones.take()
    yield url
    gatehouse_template_clones.give_back(name)


@pytest.fixture
def gatehouse_redis_url(gatehouse_infra: Infra) -> str:
    """This worker's Redis database, emptied before the test (``FLUSHDB``)."""
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(gatehouse_infra.redis_url, socket_connect_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()
    return gatehouse_infra.redis_url


@pytest.fixture(scope="session")
def gatehouse_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the app keeps its dev signing keys and pepper: made once per session (worker)."""
    return tmp_path_factory.mktemp("gatehouse-data")


@pytest.fixture(scope="session")
def gatehouse_mail_server() -> Iterator[MailSink]:
    """The session's SMTP server; tests use ``mail_sink``, which resets it first."""
    sink = MailSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def mail_sink(gatehouse_mail_server: MailSink) -> MailSink:
    """The session's SMTP server, emptied (and accepting, and running) for this test."""
    gatehouse_mail_server.reset()
    return gatehouse_mail_server


@pytest.fixture
def gatehouse_settings(
    gatehouse_database_url: str,
    gatehouse_redis_url: str,
    gatehouse_data_dir: Path,
    mail_sink: MailSink,
) -> Settings:
    """Settings for this test's app: its own database, the worker's Redis, the mail sink with the
    dispatcher on (mail really flows), bcrypt cost 4, rate limits and lockout out of reach."""
    from gatehouse.testing.app import testing_settings  # noqa: PLC0415 - loads the app

    return testing_settings(
        database_url=gatehouse_database_url,
        redis_url=gatehouse_redis_url,
        data_dir=gatehouse_data_dir,
        smtp_url=mail_sink.url,
        dispatch_in_serve=True,
    )


@pytest.fixture
def gatehouse_app(gatehouse_settings: Settings) -> FastAPI:
    """The app as ``create_app`` builds it from ``gatehouse_settings`` (its lifespan not run:
    ``gatehouse_client`` runs it)."""
    from gatehouse.main.app import create_app  # noqa: PLC0415

    return create_app(gatehouse_settings)


@pytest_asyncio.fixture
async def gatehouse_client(gatehouse_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` on ``gatehouse_app`` over ASGI, inside the app's lifespan."""
    from gatehouse.testing.app import app_client  # noqa: PLC0415

    async with app_client(gatehouse_app) as client:
        yield client


@pytest.fixture
def make_user(
    gatehouse_client: httpx.AsyncClient, gatehouse_settings: Settings, mail_sink: MailSink
) -> UserFactory:
    """``await make_user(roles=(), mfa=False, verified=True, email=None, password=None)``:
    a ``SignedInUser`` made through the API of ``gatehouse_client``."""
    from gatehouse.testing.users import UserFactory  # noqa: PLC0415

    sink = mail_sink if gatehouse_settings.smtp_url == mail_sink.url else None
    return UserFactory(gatehouse_client, gatehouse_settings, sink)
