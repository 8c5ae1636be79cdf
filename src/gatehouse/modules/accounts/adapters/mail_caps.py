"""Per-address mail caps in Redis: fixed one-minute and one-hour windows.

Keys hold a hash of the address, never the address. When Redis cannot answer, mail is allowed
(a reset must work during a Redis outage) and a warning is logged.
"""

from __future__ import annotations

import hashlib
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gatehouse.modules.accounts.application.ports import MailCaps

log = logging.getLogger("gatehouse.accounts")

PREFIX = "gatehouse:mail-cap:"


class RedisMailCaps(MailCaps):
    def __init__(self, redis: Redis, *, per_minute: int = 1, per_hour: int = 5) -> None:
        self._redis = redis
        self._per_minute = per_minute
        self._per_hour = per_hour

    async def allow(self, address: str) -> bool:
        digest = hashlib.sha256(address.encode()).hexdigest()[:32]
        now = int(time.time())
        minute = f"{PREFIX}{digest}:m:{now // 60}"
        hour = f"{PREFIX}{digest}:h:{now // 3600}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(minute)
                pipe.expire(minute, 60)
                pipe.incr(hour)
                pipe.expire(hour, 3600)
                in_minute, _, in_hour, _ = await pipe.execute()
        except (RedisError, OSError):
            log.warning("mail cap not checked: Redis did not answer")
            return True
        return int(in_minute) <= self._per_minute and int(in_hour) <= self._per_hour
