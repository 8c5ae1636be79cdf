"""The scaling settings: the direct database URL beside a pooler's, the PgBouncer switch and
Redis Sentinel URLs (docs/deployment.md, ADR 0028)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from redis.asyncio.sentinel import SentinelConnectionPool

from gatehouse.main.container import ApplicationContainer
from gatehouse.main.redis_client import SentinelUrl, parse_sentinel_url, redis_client
from gatehouse.main.settings import Settings

POOLER = "postgresql+asyncpg://app@pgbouncer:6432/gatehouse"
DIRECT = "postgresql+asyncpg://app@postgres:5432/gatehouse"


def test_migrations_and_listen_use_the_direct_url_when_one_is_set() -> None:
    settings = Settings(database_url=POOLER, database_direct_url=DIRECT, _env_file=None)
    assert settings.direct_database_url == DIRECT
    container = ApplicationContainer(settings=settings)
    assert container.listen_dsn() == "postgresql://app@postgres:5432/gatehouse"
    assert container.read_pool().dsn == "postgresql://app@pgbouncer:6432/gatehouse"


def test_without_a_direct_url_everything_uses_the_database_url() -> None:
    settings = Settings(database_url=DIRECT, _env_file=None)
    assert settings.direct_database_url == DIRECT
    assert settings.database_pgbouncer is False


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380/mymaster",
            SentinelUrl((("10.0.0.1", 26379), ("10.0.0.2", 26380)), "mymaster"),
        ),
        (
            "redis+sentinel://:s%40cret@sentinel/cache/3",
            SentinelUrl((("sentinel", 26379),), "cache", 3, None, "s@cret"),
        ),
        (
            "redis+sentinel://user:pw@[::1]:5000,[fe80::1]/m/0",
            SentinelUrl((("::1", 5000), ("fe80::1", 26379)), "m", 0, "user", "pw"),
        ),
    ],
)
def test_sentinel_urls_name_the_sentinels_the_service_and_a_database(
    url: str, expected: SentinelUrl
) -> None:
    assert parse_sentinel_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://host:26379",  # no service
        "redis+sentinel:///mymaster",  # no sentinel
        "redis+sentinel://host:port/mymaster",
        "redis+sentinel://host/mymaster/zero",
        "redis+sentinel://host/mymaster?db=1",
        "memcached://host:11211",
    ],
)
def test_a_malformed_redis_url_refuses_to_start(url: str) -> None:
    with pytest.raises(ValidationError, match=r"Redis URL|Sentinel URL|sentinel address"):
        Settings(redis_url=url, _env_file=None)


def test_an_empty_redis_url_still_means_the_embedded_redis() -> None:
    assert Settings(redis_url="", _env_file=None).redis_url == ""


async def test_a_sentinel_url_gives_a_client_of_the_services_master() -> None:
    client = redis_client("redis+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster/2", socket_timeout=1)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "mymaster"
    assert pool.is_master
    assert pool.connection_kwargs["db"] == 2
    sentinels = pool.sentinel_manager.sentinels
    assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [1, 2]
    await client.aclose()  # connects to nothing: closes the sentinels' clients too
