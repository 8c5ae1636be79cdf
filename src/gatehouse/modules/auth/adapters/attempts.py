"""Failure counters in Redis: ``limit`` failures per key within ``window`` seconds.

The window starts at the first failure and is not extended by later ones, so a blocked caller
knows exactly when to retry (``Retry-After``). Keys hold the caller's key as given (a user id,
never an address). When Redis cannot answer the limiter lets the attempt through and logs a
warning: the code checks themselves still hold, and each costs a request.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gatehouse.modules.auth.application.ports import AttemptLimiter
from gatehouse.modules.auth.domain.errors import TooManyAttempts

log = logging.getLogger("gatehouse.auth")

PREFIX = "gatehouse:attempts:"

_FAILED = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class RedisAttemptLimiter(AttemptLimiter):
    def __init__(self, redis: Redis, *, limit: int = 5, window_seconds: int = 900) -> None:
        self._redis = redis
        self._limit = limit
        self._window = window_seconds
        self._failed = redis.register_script(_FAILED)

    async def check(self, key: str) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(PREFIX + key)
                pipe.ttl(PREFIX + key)
                count, ttl = await pipe.execute()
        except (RedisError, OSError):
            log.warning("attempt limit not checked: Redis did not answer")
            return
        if count is not None and int(count) >= self._limit:
            raise TooManyAttempts(int(ttl) if ttl and ttl > 0 else self._window)

    async def failed(self, key: str) -> None:
        try:
            await self._failed(keys=[PREFIX + key], args=[self._window])
        except (RedisError, OSError):
            log.warning("attempt not counted: Redis did not answer")

    async def succeeded(self, key: str) -> None:
        try:
            await self._redis.delete(PREFIX + key)
        except (RedisError, OSError):
            log.warning("attempt counter not reset: Redis did not answer")
