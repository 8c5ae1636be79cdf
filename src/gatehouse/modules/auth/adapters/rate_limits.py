"""Rate limits with the ``limits`` package: a moving window in Redis, shared by every process.

When Redis does not answer, the same window is kept in this process's memory instead: limits
never switch off, but N processes then allow up to N times the limit between them (logged).
After a failure Redis is left alone for a few seconds (``RedisOutage``), so a Redis that is down
or hanging costs one timeout every few seconds, not one per request.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import limits
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis

from gatehouse.shared.rate_limits import RateLimit, RateLimiter, RateLimitExceeded, RateLimitState

log = logging.getLogger("gatehouse.auth")

PREFIX = "gatehouse:rate-limit"


def parse_rate_limits(policies: Mapping[str, str]) -> dict[str, RateLimit]:
    """``{"login": "20/minute"}`` (``limits``' notation) to named ``RateLimit``s."""
    parsed: dict[str, RateLimit] = {}
    for name, text in policies.items():
        item = limits.parse(text)
        parsed[name] = RateLimit(name=name, amount=item.amount, seconds=item.get_expiry())
    return parsed


Op = TypeVar("Op")

OUTAGE_PAUSE_SECONDS = 5.0


class RedisOutage:
    """Whether to skip Redis for now: for ``pause`` seconds after it last failed to answer.

    Logs one warning per outage (when it begins, and again each pause it lasts), naming
    ``what`` and where it turns meanwhile (``fallback``: this process's memory by default).
    """

    def __init__(
        self,
        what: str,
        pause: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        fallback: str = "kept in this process only",
    ) -> None:
        self._what = what
        self._fallback = fallback
        self._pause = OUTAGE_PAUSE_SECONDS if pause is None else pause
        self._monotonic = monotonic
        self._until = 0.0

    @property
    def ongoing(self) -> bool:
        return self._monotonic() < self._until

    def began(self) -> None:
        log.warning("%s %s: Redis did not answer", self._what, self._fallback)
        self._until = self._monotonic() + self._pause


class MovingWindows:
    """``limits``' moving windows in Redis under ``prefix``, shared by every process; when Redis
    does not answer, the same windows in this process's memory (logged as ``what``)."""

    def __init__(self, redis: Redis, prefix: str, what: str) -> None:
        shared = RedisStorage(
            "async+redis://",
            implementation="redispy",
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # typed as scalars
            key_prefix=prefix,
            wrap_exceptions=True,
        )
        self._shared = MovingWindowRateLimiter(shared)
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._outage = RedisOutage(what)

    async def run(self, op: Callable[[MovingWindowRateLimiter], Awaitable[Op]]) -> Op:
        if not self._outage.ongoing:
            try:
                return await op(self._shared)
            except StorageError:
                self._outage.began()
        return await op(self._local)


def seconds_until(reset_time: float) -> int:
    """Whole seconds from now until ``limits``' ``reset_time`` (a Unix time)."""
    return max(0, math.ceil(reset_time - time.time()))


class LimitsRateLimiter(RateLimiter):
    def __init__(self, redis: Redis) -> None:
        self._windows = MovingWindows(redis, PREFIX, "rate limits")
        self._items: dict[RateLimit, limits.RateLimitItem] = {}

    async def hit(self, limit: RateLimit, client: str) -> RateLimitState:
        item = self._items.get(limit)
        if item is None:
            item = self._items[limit] = limits.RateLimitItemPerSecond(limit.amount, limit.seconds)

        async def count(limiter: MovingWindowRateLimiter) -> RateLimitState:
            allowed = await limiter.hit(item, limit.name, client)
            stats = await limiter.get_window_stats(item, limit.name, client)
            reset_after = seconds_until(stats.reset_time)
            if not allowed:
                raise RateLimitExceeded(RateLimitState(limit, 0, max(1, reset_after)))
            return RateLimitState(limit, stats.remaining, reset_after)

        return await self._windows.run(count)
