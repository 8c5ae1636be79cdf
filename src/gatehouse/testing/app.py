"""Settings for tests, and the app over ``httpx.ASGITransport`` with its real lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from gatehouse.main.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

BASE_URL = "http://testserver"
# Every request comes from one documentation address (RFC 5737), as if from one browser.
CLIENT_ADDRESS = ("203.0.113.7", 50000)

# Every test client calls from one address, and the counts outlive a test: the limits and the
# lockout are raised far out of reach. Test them on their own with the values you ship.
RAISED_LIMITS: dict[str, Any] = {
    "rate_limit_login": "100000/minute",
    "rate_limit_register": "100000/hour",
    "rate_limit_refresh": "100000/minute",
    "rate_limit_mail_request": "100000/hour",
    "rate_limit_token_check": "100000/minute",
    "rate_limit_mfa": "100000/minute",
    "lockout_free_attempts": 100000,
    "lockout_failures_per_hour": 100000,
}


def testing_settings(
    *, database_url: str, redis_url: str, data_dir: Path, **overrides: Any
) -> Settings:
    """``Settings`` for a test: env ``test``, the cheapest bcrypt cost, limits raised, JSON logs,
    no ``.env`` file; ``overrides`` (any other ``Settings`` field) win."""
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "data_dir": data_dir,
        "bcrypt_rounds": 4,
        "log_json": True,
        **RAISED_LIMITS,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@contextlib.asynccontextmanager
async def app_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` on ``app``: its lifespan runs around the block (pools opened,
    the mail dispatcher started when the settings say so), requests go through ASGI."""
    from asgi_lifespan import LifespanManager  # noqa: PLC0415 - the extra `testing`

    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, client=CLIENT_ADDRESS),
            base_url=BASE_URL,
        ) as client,
    ):
        yield client
