"""Social login's short-lived records in Redis: pending sign-ins (10 minutes) and one-time
login codes (60 s), each under the SHA-256 of its key and taken with ``GETDEL``, so a state or
a code is used at most once across every process, and a copy of Redis holds neither.

They live only in Redis: with Redis down a social sign-in cannot start or finish and the
caller gets 503 (password sign-in goes on).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gatehouse.modules.auth.application.ports import LoginGrant, PendingSignIn, SocialSignInStore
from gatehouse.shared.errors import Unavailable
from gatehouse.shared.redis_health import RedisHealth

Reply = TypeVar("Reply")

UNAVAILABLE = "social sign-in is unavailable: Redis does not answer"
PENDING = "gatehouse:oauth-state:"
GRANT = "gatehouse:oauth-code:"


def _key(prefix: str, secret: str) -> str:
    return prefix + hashlib.sha256(secret.encode()).hexdigest()


class RedisSocialSignInStore(SocialSignInStore):
    def __init__(self, redis: Redis, health: RedisHealth) -> None:
        self._redis = redis
        self._health = health

    async def put_pending(self, state: str, pending: PendingSignIn, ttl_seconds: int) -> None:
        record = {
            "provider": pending.provider,
            "nonce": pending.nonce,
            "code_verifier": pending.code_verifier,
            "redirect_to": pending.redirect_to,
            "browser": pending.browser,
            "link_user_id": None if pending.link_user_id is None else str(pending.link_user_id),
        }
        await self._put(_key(PENDING, state), record, ttl_seconds)

    async def take_pending(self, state: str) -> PendingSignIn | None:
        record = await self._take(_key(PENDING, state))
        if record is None:
            return None
        link = record["link_user_id"]
        return PendingSignIn(
            provider=record["provider"],
            nonce=record["nonce"],
            code_verifier=record["code_verifier"],
            redirect_to=record["redirect_to"],
            browser=record["browser"],
            link_user_id=None if link is None else uuid.UUID(link),
        )

    async def put_grant(self, code: str, grant: LoginGrant, ttl_seconds: int) -> None:
        record = {"user_id": str(grant.user_id), "provider": grant.provider}
        await self._put(_key(GRANT, code), record, ttl_seconds)

    async def take_grant(self, code: str) -> LoginGrant | None:
        record = await self._take(_key(GRANT, code))
        if record is None:
            return None
        return LoginGrant(user_id=uuid.UUID(record["user_id"]), provider=record["provider"])

    async def _put(self, key: str, record: dict[str, Any], ttl_seconds: int) -> None:
        await self._ask(lambda: self._redis.set(key, json.dumps(record), ex=ttl_seconds))

    async def _take(self, key: str) -> dict[str, Any] | None:
        raw = await self._ask(lambda: self._redis.getdel(key))
        if raw is None:
            return None
        record: dict[str, Any] = json.loads(raw)
        return record

    async def _ask(self, command: Callable[[], Awaitable[Reply]]) -> Reply:
        if not self._health.usable():  # Redis failed a moment ago: do not wait on it again
            raise Unavailable(UNAVAILABLE)
        try:
            reply = await command()
        except (RedisError, OSError) as error:
            self._health.failed("social sign-in", "unavailable (503)")
            raise Unavailable(UNAVAILABLE) from error
        self._health.answered()
        return reply
