"""The Redis client from ``GATEHOUSE_REDIS_URL``: one server's URL, or Redis Sentinel's.

``redis://``, ``rediss://`` and ``unix://`` are redis-py's own URLs. A Sentinel URL names the
sentinels and the monitored service, in the ``limits`` package's format, with an optional
database number after the service::

    redis+sentinel://[[username]:password@]host:port[,host:port...]/service_name[/db]

The client asks the sentinels for the service's master and connects to it (redis-py's
``Sentinel.master_for``); after a failover its connections fail once and reconnect to the new
master. The password (and username), if any, is sent to the master and to the sentinels, as
``limits`` does. Everything built on the client's connection pool (the rate limits' storage
too) follows the master.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

SENTINEL_SCHEME = "redis+sentinel"
SCHEMES = ("redis", "rediss", "unix", SENTINEL_SCHEME)
SENTINEL_PORT = 26379


@dataclass(frozen=True, slots=True)
class SentinelUrl:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def _address(text: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = text.partition(":")
    if not host or (port and not port.isdigit()):
        msg = f"not a sentinel address: {text!r} (write host:port)"
        raise ValueError(msg)
    return host, int(port) if port else SENTINEL_PORT


def parse_sentinel_url(url: str) -> SentinelUrl:
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        msg = f"not a {SENTINEL_SCHEME}:// URL"
        raise ValueError(msg)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    sentinels = tuple(_address(host) for host in hosts.split(",") if host)
    service, _, db = parts.path.strip("/").partition("/")
    if not sentinels or not service or (db and not db.isdigit()) or parts.query:
        msg = (
            "a Sentinel URL is redis+sentinel://[[user]:password@]host:port[,host:port...]"
            "/service_name[/db]"
        )
        raise ValueError(msg)
    return SentinelUrl(
        sentinels=sentinels,
        service=unquote(service),
        db=int(db or 0),
        username=unquote(username) or None,
        password=unquote(password) or None,
    )


def check_redis_url(url: str) -> None:
    """Refuse a URL no client below can use (raises ``ValueError``)."""
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        msg = f"a Redis URL starts with {', '.join(s + '://' for s in SCHEMES)}"
        raise ValueError(msg)
    if scheme == SENTINEL_SCHEME:
        parse_sentinel_url(url)


class SentinelRedis(Redis):
    """The master's client; closing it closes the connections to the sentinels too."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        pool = self.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            await pool.sentinel_manager.aclose()


def redis_client(url: str, **options: Any) -> Redis:
    """A client for ``url`` with redis-py connection ``options`` (timeouts, retry, …); for a
    Sentinel URL the sentinels get the same socket timeouts."""
    if urlsplit(url).scheme != SENTINEL_SCHEME:
        return Redis.from_url(url, **options)
    parsed = parse_sentinel_url(url)
    auth = {"username": parsed.username, "password": parsed.password}
    sockets = {key: value for key, value in options.items() if key.startswith("socket_")}
    sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        list(parsed.sentinels), sentinel_kwargs={**sockets, **auth}, **options, **auth
    )
    client: Redis = sentinel.master_for(parsed.service, redis_class=SentinelRedis, db=parsed.db)
    return client
