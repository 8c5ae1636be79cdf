"""Rate limits with the ``limits`` package: a moving window in Redis, shared by every process.

When Redis does not answer, the same window is kept in this process's memory instead: limits
never switch off, but N processes then allow up to N times the limit between them (logged).
After a failure every user of Redis leaves it alone for a few seconds (the process's
``RedisHealth``), so a Redis that is down or hanging costs one timeout every few seconds, not
one per request nor one per limiter.

A counted request needs the window after its hit (the ``RateLimit-*`` headers): ``limits``'
own Lua scripts for both, the hit and the window, go to Redis in one pipelined round trip
instead of two (``MovingWindows.hit``), on the keys ``limits`` itself uses.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import limits
from limits import WindowStats
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from gatehouse.shared.rate_limits import RateLimit, RateLimiter, RateLimitExceeded, RateLimitState
from gatehouse.shared.redis_health import RedisHealth

PREFIX = "gatehouse:rate-limit"


def parse_rate_limits(policies: Mapping[str, str]) -> dict[str, RateLimit]:
    """``{"login": "20/minute"}`` (``limits``' notation) to named ``RateLimit``s."""
    parsed: dict[str, RateLimit] = {}
    for name, text in policies.items():
        item = limits.parse(text)
        parsed[name] = RateLimit(name=name, amount=item.amount, seconds=item.get_expiry())
    return parsed


Op = TypeVar("Op")


class MovingWindows:
    """``limits``' moving windows in Redis under ``prefix``, shared by every process; when Redis
    does not answer, the same windows in this process's memory (logged as ``what``)."""

    def __init__(self, redis: Redis, health: RedisHealth, prefix: str, what: str) -> None:
        shared = RedisStorage(
            "async+redis://",
            implementation="redispy",
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # typed as scalars
            key_prefix=prefix,
            wrap_exceptions=True,
        )
        if not isinstance(shared.bridge, RedispyBridge):  # what implementation="redispy" makes
            raise TypeError(shared.bridge)
        self._redis = redis
        self._bridge = shared.bridge
        self._shared = MovingWindowRateLimiter(shared)
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._health = health
        self._what = what

    async def hit(self, item: limits.RateLimitItem, *identifiers: str) -> tuple[bool, WindowStats]:
        """One hit, and the window after it (``limits``' ``hit`` then ``get_window_stats``)."""

        async def local(limiter: MovingWindowRateLimiter) -> tuple[bool, WindowStats]:
            return await limiter.hit(item, *identifiers), await limiter.get_window_stats(
                item, *identifiers
            )

        if self._health.usable():
            try:
                result = await self._shared_hit(item, identifiers)
            except (RedisError, OSError):
                self._health.failed(self._what, "kept in this process only")
            else:
                self._health.answered()
                return result
        return await local(self._local)

    async def _shared_hit(
        self, item: limits.RateLimitItem, identifiers: tuple[str, ...]
    ) -> tuple[bool, WindowStats]:
        """``limits``' acquire and window scripts (``RedispyBridge.acquire_entry`` and
        ``get_moving_window``, same keys and arguments) in one pipeline; a Redis that lost
        its scripts (restarted, flushed) gets them again, and a hit that did not run is sent
        again, never one that did."""
        bridge = self._bridge
        key = bridge.prefixed_key(item.key_for(*identifiers))
        amount, expiry = item.amount, item.get_expiry()
        acquire, window = bridge.lua_acquire_moving_window, bridge.lua_moving_window
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.evalsha(acquire.sha, 1, key, now, amount, expiry, 1)
            pipe.evalsha(window.sha, 1, key, now - expiry, amount)
            acquired, entries = await pipe.execute(raise_on_error=False)
        if isinstance(acquired, NoScriptError):
            acquired = await acquire(keys=[key], args=[now, amount, expiry, 1])
        if isinstance(entries, NoScriptError):
            entries = await window(keys=[key], args=[now - expiry, amount])
        for answer in (acquired, entries):
            if isinstance(answer, Exception):
                raise answer
        start, count = (float(entries[0]), int(entries[1])) if entries else (now, 0)
        return bool(acquired), WindowStats(start + expiry, amount - count)

    async def run(self, op: Callable[[MovingWindowRateLimiter], Awaitable[Op]]) -> Op:
        if self._health.usable():
            try:
                result = await op(self._shared)
            except StorageError:
                self._health.failed(self._what, "kept in this process only")
            else:
                self._health.answered()
                return result
        return await op(self._local)


def seconds_until(reset_time: float) -> int:
    """Whole seconds from now until ``limits``' ``reset_time`` (a Unix time)."""
    return max(0, math.ceil(reset_time - time.time()))


class LimitsRateLimiter(RateLimiter):
    def __init__(self, redis: Redis, health: RedisHealth) -> None:
        self._windows = MovingWindows(redis, health, PREFIX, "rate limits")
        self._items: dict[RateLimit, limits.RateLimitItem] = {}

    async def hit(self, limit: RateLimit, client: str) -> RateLimitState:
        item = self._items.get(limit)
        if item is None:
            item = self._items[limit] = limits.RateLimitItemPerSecond(limit.amount, limit.seconds)

        allowed, stats = await self._windows.hit(item, limit.name, client)
        reset_after = seconds_until(stats.reset_time)
        if not allowed:
            raise RateLimitExceeded(RateLimitState(limit, 0, max(1, reset_after)))
        return RateLimitState(limit, stats.remaining, reset_after)
