"""Failure counters: ``limit`` failures per key within any ``window`` seconds block the key.

``limits``' moving window (``MovingWindows``): in Redis, shared by every process; when Redis
does not answer, in this process's memory, so the limit never switches off (N processes then
allow up to N times it between them). A blocked caller learns when the oldest counted failure
leaves the window (``Retry-After``). Keys hold the caller's key as given (a user id, never an
address).
"""

from __future__ import annotations

import limits
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from gatehouse.modules.auth.adapters.rate_limits import MovingWindows, seconds_until
from gatehouse.modules.auth.application.ports import AttemptLimiter
from gatehouse.modules.auth.domain.errors import TooManyAttempts

PREFIX = "gatehouse:attempts"


class LimitsAttemptLimiter(AttemptLimiter):
    def __init__(self, redis: Redis, *, limit: int = 5, window_seconds: int = 900) -> None:
        self._windows = MovingWindows(redis, PREFIX)
        self._item = limits.RateLimitItemPerSecond(limit, window_seconds)

    async def check(self, key: str) -> None:
        async def blocked_for(limiter: MovingWindowRateLimiter) -> int | None:
            if await limiter.test(self._item, key):
                return None
            stats = await limiter.get_window_stats(self._item, key)
            return max(1, seconds_until(stats.reset_time))

        retry_after = await self._windows.run(blocked_for, "attempt limit")
        if retry_after is not None:
            raise TooManyAttempts(retry_after)

    async def failed(self, key: str) -> None:
        async def count(limiter: MovingWindowRateLimiter) -> bool:
            return await limiter.hit(self._item, key)

        await self._windows.run(count, "attempt limit")

    async def succeeded(self, key: str) -> None:
        async def clear(limiter: MovingWindowRateLimiter) -> None:
            await limiter.clear(self._item, key)

        await self._windows.run(clear, "attempt limit")
