"""Sign in with email and password: start a session, return a token pair."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from gatehouse.modules.accounts.application.public import AccountDirectory
from gatehouse.modules.auth.application.ports import AccessTokenIssuer, AuthUnitOfWork
from gatehouse.modules.auth.domain.model import AccessClaims, Session
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id

REFRESH_TOKEN_BYTES = 32  # 256 bits
MAX_USER_AGENT = 512


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    access_ttl: timedelta
    idle_ttl: timedelta
    absolute_ttl: timedelta


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    password: str
    user_agent: str | None = None
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: str


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii", "replace")).digest()


class LoginHandler:
    def __init__(
        self,
        accounts: AccountDirectory,
        uow: Callable[[], AuthUnitOfWork],
        issuer: AccessTokenIssuer,
        clock: Clock,
        policy: SessionPolicy,
    ) -> None:
        self._accounts = accounts
        self._uow = uow
        self._issuer = issuer
        self._clock = clock
        self._policy = policy

    async def __call__(self, cmd: Login) -> TokenPair:
        account = await self._accounts.authenticate(cmd.email, cmd.password)
        now = self._clock.now()
        refresh_token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        amr = ["pwd"]
        session = Session(
            id=new_id(),
            user_id=account.user_id,
            refresh_token_hash=hash_refresh_token(refresh_token),
            created_at=now,
            last_used_at=now,
            idle_expires_at=now + self._policy.idle_ttl,
            absolute_expires_at=now + self._policy.absolute_ttl,
            user_agent=(cmd.user_agent or None) and cmd.user_agent[:MAX_USER_AGENT],
            ip=cmd.ip,
            amr=amr,
        )
        async with self._uow() as uow:
            await uow.sessions.add(session)
            await uow.commit()
        access = self._issuer.issue(
            AccessClaims(
                subject=account.user_id,
                session_id=session.id,
                token_id=str(new_id()),
                roles=account.roles,
                amr=tuple(amr),
                issued_at=now,
                expires_at=now + self._policy.access_ttl,
            )
        )
        return TokenPair(
            access_token=access,
            expires_in=int(self._policy.access_ttl.total_seconds()),
            refresh_token=refresh_token,
            refresh_expires_in=int(self._policy.idle_ttl.total_seconds()),
            session_id=str(session.id),
        )
