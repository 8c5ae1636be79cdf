"""Fault tests: a real ``gatehouse serve`` (and workers) on PostgreSQL and Redis servers of the
module's own, which the tests stop, freeze and flush on purpose, asserting the contract from
outside over HTTP (ADR 0026). Never the machine's servers, nor the suite's shared ones.

Each module gets its own pair (``servers``) and serve process (``base``); the tests of this
directory run on one xdist worker (``xdist_group("faults")``), one after the other, so their
timing bounds do not compete with each other for the CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatehouse.main.settings import Settings
from gatehouse.testing import PASSWORD, unique_email
from tests.support.private_postgres import PrivatePostgres, private_postgres
from tests.support.processes import PrivateRedis, gatehouse_serve, redis_server_binary

PROBLEM = "application/problem+json"
CONTRACT_BOUND = 3.0  # "503 problem within 3 s"
# Limits out of the way: these tests send many requests from one address on purpose.
SERVE_ENV = {
    "GATEHOUSE_REQUIRE_VERIFIED_EMAIL": "false",
    "GATEHOUSE_RATE_LIMIT_LOGIN": "100000/minute",
    "GATEHOUSE_RATE_LIMIT_REGISTER": "100000/minute",
    "GATEHOUSE_RATE_LIMIT_REFRESH": "100000/minute",
}


@dataclass
class Servers:
    postgres: PrivatePostgres
    redis: PrivateRedis
    settings: Settings
    directory: Path


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (install the embedded extra: make install)")
    directory = tmp_path_factory.mktemp("faults")
    (directory / "redis").mkdir()
    with private_postgres() as postgres:
        redis = PrivateRedis(binary, directory / "redis")
        redis.start()
        try:
            settings = Settings(
                _env_file=None,
                env="test",
                database_url=postgres.url,
                redis_url=redis.url,
                data_dir=directory / "data",
            )
            yield Servers(postgres, redis, settings, directory)
        finally:
            redis.stop()


@pytest.fixture(scope="module")
def base(servers: Servers) -> Iterator[str]:
    """One ``gatehouse serve`` on the module's servers, with the default timeouts."""
    with gatehouse_serve(servers.settings, servers.directory, "serve", **SERVE_ENV) as url:
        yield url


def sign_in(client: httpx.Client) -> dict[str, str]:
    """A new account, signed in: its headers for bearer calls."""
    body = {"email": unique_email("fault"), "password": PASSWORD}
    assert client.post("/api/v1/auth/register", json=body).status_code == 202
    login = client.post("/api/v1/auth/login", json=body)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            msg = f"{what}: not within {timeout:g} s"
            raise AssertionError(msg)
        time.sleep(0.05)  # polling interval, not a wait for the condition


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    code: str | None
    seconds: float


def timed(send: Callable[[], httpx.Response]) -> Answer:
    started = time.monotonic()
    response = send()
    seconds = time.monotonic() - started
    code = response.json().get("code") if response.status_code >= 400 else None
    return Answer(response.status_code, response.headers["content-type"], code, seconds)


def assert_outage_answer(answer: Answer) -> None:
    """The contract: a 503 problem, in time, naming the database."""
    assert answer.status == 503, answer
    assert answer.content_type == PROBLEM, answer
    assert answer.code == "database_unavailable", answer
    assert answer.seconds < CONTRACT_BOUND, answer
