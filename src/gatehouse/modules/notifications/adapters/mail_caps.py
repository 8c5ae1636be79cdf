"""Per-address, per-purpose mail caps in Redis: fixed one-minute and one-hour windows.

Keys hold a hash of the address, never the address. When Redis cannot answer, mail is allowed
(a reset must work during a Redis outage) and a warning is logged; for a few seconds after a
failure of any of the process's Redis users, Redis is not asked (``RedisHealth``).
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gatehouse.modules.notifications.application.public import MailCaps, MailPurpose
from gatehouse.shared.clock import Clock
from gatehouse.shared.redis_health import RedisHealth

PREFIX = "gatehouse:mail-cap:"

# Count the attempt in its minute; only an attempt the minute allows counts against the hour,
# so refused attempts never use up the hour's mails. Atomic: one script, one round trip.
_ALLOW = """
local minute = redis.call('INCR', KEYS[1])
if minute == 1 then redis.call('EXPIRE', KEYS[1], 60) end
if minute > tonumber(ARGV[1]) then return 0 end
local hour = redis.call('INCR', KEYS[2])
if hour == 1 then redis.call('EXPIRE', KEYS[2], 3600) end
if hour > tonumber(ARGV[2]) then return 0 end
return 1
"""


class RedisMailCaps(MailCaps):
    def __init__(
        self,
        redis: Redis,
        health: RedisHealth,
        clock: Clock,
        *,
        per_minute: int = 1,
        per_hour: int = 5,
    ) -> None:
        self._redis = redis
        self._health = health
        self._clock = clock
        self._per_minute = per_minute
        self._per_hour = per_hour
        self._allow = redis.register_script(_ALLOW)

    async def allow(self, address: str, purpose: MailPurpose) -> bool:
        digest = hashlib.sha256(address.encode()).hexdigest()[:32]
        now = int(self._clock.now().timestamp())
        minute = f"{PREFIX}{purpose.value}:{digest}:m:{now // 60}"
        hour = f"{PREFIX}{purpose.value}:{digest}:h:{now // 3600}"
        if not self._health.usable():
            return True
        try:
            allowed = await self._allow(
                keys=[minute, hour], args=[self._per_minute, self._per_hour]
            )
        except (RedisError, OSError):
            self._health.failed("mail cap", "not checked")
            return True
        self._health.answered()
        return bool(allowed)
