"""Exchange a refresh token for a new pair: rotation with reuse detection.

Concurrent refreshes of one token run one after the other: the first rotates, the rest find the
parent within the grace interval and get the same child. Whatever the interleaving, one refresh
token of the session is live. The account is checked (on the lean read side) before the
rotation is written, so a disabled or deleted account's token is refused without being spent.

The common case, the live token of an active session, runs on the lean side (``RefreshRotations``,
ADR 0030): the token and its session read in one statement, the rotation written in one
compare-and-swap statement that succeeds only if the session is still at the generation read
and not revoked. Anything else (a replay within the grace interval, a reuse, a lost
compare-and-swap) is decided again through the unit of work, under the session's row lock,
where a reuse ends the session and writes the audit trail in one transaction.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gatehouse.modules.accounts.application.public import AccountDirectory, AccountSnapshot
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.ports import AuthUnitOfWork, RefreshTokenFactory
from gatehouse.modules.auth.application.signing_in import SessionPolicy, TokenPair, TokenPairIssuer
from gatehouse.modules.auth.domain.errors import (
    CsrfFailed,
    RefreshTokenInvalid,
    RefreshTokenReused,
)
from gatehouse.modules.auth.domain.events import SessionsEnded
from gatehouse.modules.auth.domain.model import RefreshOutcome, RefreshToken, Session
from gatehouse.shared.clock import Clock

if TYPE_CHECKING:
    from datetime import datetime

log = logging.getLogger("gatehouse.auth")

MAX_TOKEN_LENGTH = 256


@dataclass(frozen=True, slots=True)
class RefreshSession:
    refresh_token: str
    csrf_token: str | None = None  # cookie mode: must be this session's CSRF token
    user_agent: str | None = None  # who presented it: recorded if it was a reused token
    ip: str | None = None


class RefreshRotations(Protocol):
    """The hot path's store, without a lock (ADR 0030)."""

    async def find(self, token_hash: bytes) -> tuple[Session, RefreshToken] | None:
        """The session the token belongs to and the token, as committed; None when no token
        has that hash."""
        ...

    async def save(self, session: Session, spent: RefreshToken, child: RefreshToken) -> bool:
        """Write the rotation ``session.rotate`` made (the session, the spent token, the child)
        if the stored session is still at the generation before it (``child.generation - 1``)
        and not revoked; False, writing nothing, when it is not (another writer came first)."""
        ...


class RefreshSessionHandler:
    def __init__(
        self,
        *,
        accounts: AccountDirectory,
        uow: Callable[[], AuthUnitOfWork],
        rotations: RefreshRotations,
        tokens: RefreshTokenFactory,
        pairs: TokenPairIssuer,
        clock: Clock,
        policy: SessionPolicy,
    ) -> None:
        self._accounts = accounts
        self._uow = uow
        self._rotations = rotations
        self._tokens = tokens
        self._pairs = pairs
        self._clock = clock
        self._policy = policy

    async def __call__(self, cmd: RefreshSession) -> TokenPair:
        presented = cmd.refresh_token
        if not presented or len(presented) > MAX_TOKEN_LENGTH or not presented.isascii():
            raise RefreshTokenInvalid
        token_hash = self._tokens.hash(presented)
        pair = await self._rotate(cmd, token_hash)
        return pair if pair is not None else await self._decide(cmd, token_hash)

    async def _rotate(self, cmd: RefreshSession, token_hash: bytes) -> TokenPair | None:
        """The live token, rotated on the lean side; None when it is not the live token, or
        when another writer changed the session since it was read."""
        found = await self._rotations.find(token_hash)
        if found is None:
            raise RefreshTokenInvalid
        (session, token), now = found, self._clock.now()
        self._check(cmd, session, now)
        if session.classify(token, now, self._policy.reuse_grace) is not RefreshOutcome.ROTATE:
            return None  # a replay or a reuse: _decide reads it again, under its lock
        account = await self._active_account(session)
        child = self._tokens.child_of(cmd.refresh_token)
        live = session.rotate(token, self._tokens.hash(child), now, self._policy.idle_ttl)
        if not await self._rotations.save(session, token, live):
            return None  # a concurrent refresh or revocation came first: _decide
        return self._pairs(account, session, child, now)

    def _check(self, cmd: RefreshSession, session: Session, now: datetime) -> None:
        if not session.is_active(now):
            raise RefreshTokenInvalid
        if cmd.csrf_token is not None and not hmac.compare_digest(
            cmd.csrf_token.encode(), self._tokens.csrf_for(session.id).encode()
        ):
            raise CsrfFailed

    async def _active_account(self, session: Session) -> AccountSnapshot:
        account = await self._accounts.get(session.user_id)
        if account is None or not account.is_active:
            raise RefreshTokenInvalid  # nothing written: the token is not spent
        return account

    async def _decide(self, cmd: RefreshSession, token_hash: bytes) -> TokenPair:
        """Any token, through the unit of work: rotate, replay the child, or end the session."""
        presented = cmd.refresh_token
        async with self._uow() as uow:
            found = await uow.refresh_tokens.get(token_hash)
            if found is None:
                raise RefreshTokenInvalid
            session = await uow.sessions.get(found.session_id, for_update=True)
            # As committed, now that we hold the lock.
            token = await uow.refresh_tokens.get(token_hash)
            now = self._clock.now()
            if session is None or token is None:
                raise RefreshTokenInvalid
            self._check(cmd, session, now)
            outcome = session.classify(token, now, self._policy.reuse_grace)
            if outcome is RefreshOutcome.REUSE:
                session.revoke(now, "refresh_token_reuse")
                uow.record(
                    SecurityEvent(
                        type="auth.refresh_token_reused",
                        user_id=session.user_id,
                        session_id=session.id,
                        ip=cmd.ip,
                        user_agent=cmd.user_agent,
                        details={"generation": str(token.generation)},
                    )
                )
                uow.record(SessionsEnded(session_ids=(session.id,)))  # its access tokens too
                await uow.commit()
                log.warning(
                    "refresh token reuse: session revoked",
                    extra={"session_id": str(session.id), "user_id": str(session.user_id)},
                )
                raise RefreshTokenReused
            account = await self._active_account(session)
            child = self._tokens.child_of(presented)
            if outcome is RefreshOutcome.ROTATE:
                await uow.refresh_tokens.add(
                    session.rotate(token, self._tokens.hash(child), now, self._policy.idle_ttl)
                )
            await uow.commit()
        return self._pairs(account, session, child, now)
