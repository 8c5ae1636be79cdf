"""The app over httpx's ASGI transport, with its real lifespan, database, Redis and SMTP.

The client, the users and the mail readers are the testing plugin's (``gatehouse.testing``);
the names here are the ones this suite has always used.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import pytest
import pytest_asyncio
from dependency_injector import providers
from fastapi import FastAPI

from gatehouse.main.app import create_app
from gatehouse.main.monitoring import Monitoring
from gatehouse.main.settings import Settings
from gatehouse.testing import PASSWORD, UserFactory, assert_problem, token_in, unique_email
from gatehouse.testing import users as plugin_users
from gatehouse.testing.app import app_client
from tests.support.clock import FixedClock

# Re-exported for the e2e tests.
__all__ = ["PASSWORD", "assert_problem", "token_in", "unique_email"]


class ClientFactory(Protocol):
    def __call__(
        self, **overrides: Any
    ) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]: ...


@contextlib.asynccontextmanager
async def serve(
    settings: Settings,
    prepare: Callable[[FastAPI], None] | None = None,
    monitoring: Monitoring | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    if settings.dispatch_in_serve:
        # Other tests in this worker's database leave undelivered mail behind; a test that
        # dispatches starts from an empty outbox so it receives only its own mail.
        await sql(settings, "DELETE FROM notifications_outbox")
    app = create_app(settings, monitoring=monitoring)
    if prepare is not None:
        prepare(app)
    async with app_client(app) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def make_client(settings: Settings) -> ClientFactory:
    def factory(
        prepare: Callable[[FastAPI], None] | None = None, **overrides: Any
    ) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        return serve(settings.model_copy(update=overrides), prepare)

    return factory


@pytest_asyncio.fixture(loop_scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings) as c:
        yield c


async def sql(settings: Settings, query: str, *args: Any) -> Any:
    """Run one statement on the test database and return its first value."""
    assert settings.database_url is not None
    return await plugin_users.sql(settings.database_url, query, *args)


async def verified_user(
    client: httpx.AsyncClient, settings: Settings, email: str, password: str = PASSWORD
) -> None:
    """Register through the API and mark the address verified directly (no mail round-trip)."""
    await UserFactory(client, settings).register(email, password)


def with_clock(clock: FixedClock) -> Callable[[FastAPI], None]:
    def prepare(app: FastAPI) -> None:
        app.state.container.clock.override(providers.Object(clock))

    return prepare


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


@pytest_asyncio.fixture(loop_scope="session")
async def mailing(
    make_client: ClientFactory, smtp_server: Any, clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a real SMTP server, its dispatcher running, and a clock the test moves."""
    async with make_client(
        prepare=with_clock(clock), smtp_url=smtp_server.url, dispatch_in_serve=True
    ) as client:
        yield client


async def account(
    client: httpx.AsyncClient, settings: Settings, smtp_server: Any, prefix: str
) -> str:
    """A verified account, its registration mail delivered and put aside."""
    email = unique_email(prefix)
    await verified_user(client, settings, email)
    await smtp_server.wait_for(1)
    smtp_server.clear()
    return email


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    """The Authorization header for a token pair from ``login``."""
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


from tests.e2e.admins import admin  # noqa: E402, F401 - the fixture, shared by the admin tests
from tests.e2e.social import social_app  # noqa: E402, F401 - the fixture "app" of the social tests
