"""The lockout (``domain.lockout``) in Redis, shared by every process.

Each subject's streak is a Redis hash, read and rewritten in one optimistic transaction
(``WATCH``/``MULTI``, again when another process changed it meanwhile) so two processes never
both take the last free attempt. The hourly budget of failures per account is ``limits``'
moving window (``MovingWindows``).

When Redis does not answer, streaks and budget are kept in this process's memory instead: the
lockout never switches off, but N processes then allow up to N times as many tries between
them (logged). Subjects are stored under a keyed hash, never as an address or an IP.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import limits
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError
from redis.typing import EncodableT, FieldT

from gatehouse.modules.auth.adapters.rate_limits import MovingWindows, seconds_until
from gatehouse.modules.auth.application.ports import Lockout, SignInAttempt
from gatehouse.modules.auth.domain.errors import TooManyAttempts
from gatehouse.modules.auth.domain.lockout import Admitted, LockoutPolicy, Refused, Streak
from gatehouse.shared.clock import Clock
from gatehouse.shared.redis_health import RedisHealth

PREFIX = "gatehouse:lockout"
LOCAL_PRUNE_EVERY = 1024  # writes between sweeps of forgotten streaks from memory


def _ceil_seconds(delta: timedelta) -> int:
    return max(1, -int(-delta.total_seconds() // 1))


def _to_fields(streak: Streak) -> dict[FieldT, EncodableT]:
    def stamp(at: datetime | None) -> str:
        return "" if at is None else repr(at.timestamp())

    return {
        "failures": streak.failures,
        "in_flight": streak.in_flight,
        "locked_until": stamp(streak.locked_until),
        "last_attempt": stamp(streak.last_attempt),
    }


def _from_fields(fields: Mapping[Any, Any]) -> Streak:
    def at(name: bytes) -> datetime | None:
        raw = fields.get(name)
        return datetime.fromtimestamp(float(raw), UTC) if raw else None

    try:
        return Streak(
            failures=int(fields.get(b"failures", 0)),
            in_flight=int(fields.get(b"in_flight", 0)),
            locked_until=at(b"locked_until"),
            last_attempt=at(b"last_attempt"),
        )
    except ValueError:  # not ours: start over rather than fail every sign-in
        return Streak()


Result = TypeVar("Result")
# What an operation makes of the subjects' streaks: its result, and their new streaks (or
# None to leave them as they are).
Change = Callable[[list[Streak]], tuple[Result, Sequence[Streak] | None]]


class RedisLockout(Lockout):
    def __init__(
        self,
        redis: Redis,
        health: RedisHealth,
        key: bytes,
        clock: Clock,
        *,
        policy: LockoutPolicy | None = None,
        failures_per_hour: int = 100,
    ) -> None:
        self._redis = redis
        self._key = hmac.new(key, b"gatehouse lockout subjects", hashlib.sha256).digest()
        self._clock = clock
        self._policy = policy or LockoutPolicy()
        self._hourly = limits.RateLimitItemPerHour(failures_per_hour)
        self._budget = MovingWindows(redis, health, f"{PREFIX}:hourly", "hourly failure budget")
        self._health = health
        self._local: dict[str, Streak] = {}
        self._local_writes = 0

    # -- the port

    async def admit(self, attempt: SignInAttempt) -> None:
        await self._check_budget(self._subject("account", attempt.account))
        now = self._clock.now()

        def admit(streaks: list[Streak]) -> tuple[Admitted | Refused, Sequence[Streak] | None]:
            decision = self._policy.admit(streaks, now)
            return decision, decision.streaks if isinstance(decision, Admitted) else None

        decision = await self._change(self._subjects(attempt), admit)
        if isinstance(decision, Refused):
            raise TooManyAttempts(_ceil_seconds(decision.retry_after))

    async def failed(self, attempt: SignInAttempt) -> None:
        now = self._clock.now()
        await self._change(
            self._subjects(attempt),
            lambda streaks: (None, [self._policy.failed(s, now) for s in streaks]),
        )
        account = self._subject("account", attempt.account)

        async def spend(limiter: MovingWindowRateLimiter) -> bool:
            return await limiter.hit(self._hourly, account)

        await self._budget.run(spend)

    async def succeeded(self, attempt: SignInAttempt) -> None:
        await self._change(
            self._subjects(attempt),
            lambda streaks: (None, [self._policy.succeeded(s) for s in streaks]),
        )

    async def released(self, attempt: SignInAttempt) -> None:
        await self._change(
            self._subjects(attempt),
            lambda streaks: (None, [self._policy.released(s) for s in streaks]),
        )

    # -- helpers

    def _subject(self, kind: str, value: str) -> str:
        digest = hmac.new(self._key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()
        return f"{PREFIX}:{kind}:{digest[:40]}"

    def _subjects(self, attempt: SignInAttempt) -> list[str]:
        subjects = [self._subject("account", attempt.account)]
        if attempt.ip:
            subjects.append(self._subject("ip", attempt.ip))
        return subjects

    async def _check_budget(self, account: str) -> None:
        async def blocked_for(limiter: MovingWindowRateLimiter) -> int | None:
            if await limiter.test(self._hourly, account):
                return None
            stats = await limiter.get_window_stats(self._hourly, account)
            return max(1, seconds_until(stats.reset_time))

        retry_after = await self._budget.run(blocked_for)
        if retry_after is not None:
            raise TooManyAttempts(retry_after)

    async def _change(self, subjects: list[str], change: Change[Result]) -> Result:
        """Apply ``change`` to the subjects' streaks atomically: in Redis, else in memory."""
        if self._health.usable():
            try:
                result = await self._change_shared(subjects, change)
            except (RedisError, OSError):
                self._health.failed("lockout", "kept in this process only")
            else:
                self._health.answered()
                return result
        return self._change_local(subjects, change)

    async def _change_shared(self, subjects: list[str], change: Change[Result]) -> Result:
        ttl = int(self._policy.forget_after.total_seconds())
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:  # a WATCH lost to a concurrent attempt on the same subject: again
                try:
                    await pipe.watch(*subjects)
                    streaks = [_from_fields(await pipe.hgetall(s)) for s in subjects]
                    result, changed = change(streaks)
                    if changed is None:
                        return result  # leaving the block unwatches
                    pipe.multi()  # type: ignore[no-untyped-call]
                    for subject, streak in zip(subjects, changed, strict=True):
                        pipe.hset(subject, mapping=_to_fields(streak))
                        pipe.expire(subject, ttl)
                    await pipe.execute()
                    return result
                except WatchError:
                    continue

    def _change_local(self, subjects: list[str], change: Change[Result]) -> Result:
        result, changed = change([self._local.get(s, Streak()) for s in subjects])
        if changed is not None:
            self._local.update(zip(subjects, changed, strict=True))
            self._local_writes += 1
            if self._local_writes % LOCAL_PRUNE_EVERY == 0:
                self._prune()
        return result

    def _prune(self) -> None:
        forget = self._policy.forget_after
        now = self._clock.now()
        for subject, streak in list(self._local.items()):
            if streak.last_attempt is None or now - streak.last_attempt >= forget:
                del self._local[subject]
