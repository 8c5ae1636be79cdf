"""Exchange a refresh token for a new pair: rotation with reuse detection.

The session row is locked for the whole decision, so concurrent refreshes of one token run one
after the other: the first rotates, the rest find the parent within the grace interval and get
the same child. Whatever the interleaving, one refresh token of the session is live.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Any

from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.login import SessionTokenHandler, TokenPair
from gatehouse.modules.auth.application.ports import SessionRevocations
from gatehouse.modules.auth.domain.errors import (
    CsrfFailed,
    RefreshTokenInvalid,
    RefreshTokenReused,
)
from gatehouse.modules.auth.domain.model import RefreshOutcome

log = logging.getLogger("gatehouse.auth")

MAX_TOKEN_LENGTH = 256


@dataclass(frozen=True, slots=True)
class RefreshSession:
    refresh_token: str
    csrf_token: str | None = None  # cookie mode: must be this session's CSRF token
    user_agent: str | None = None  # who presented it: recorded if it was a reused token
    ip: str | None = None


class RefreshSessionHandler(SessionTokenHandler):
    def __init__(self, *, revocations: SessionRevocations, **parts: Any) -> None:
        super().__init__(**parts)
        self._revocations = revocations

    async def __call__(self, cmd: RefreshSession) -> TokenPair:
        presented = cmd.refresh_token
        if not presented or len(presented) > MAX_TOKEN_LENGTH or not presented.isascii():
            raise RefreshTokenInvalid
        token_hash = self._tokens.hash(presented)
        async with self._uow() as uow:
            found = await uow.refresh_tokens.get(token_hash)
            if found is None:
                raise RefreshTokenInvalid
            session = await uow.sessions.get(found.session_id, for_update=True)
            token = await uow.refresh_tokens.get(
                token_hash
            )  # as committed, now that we hold the lock
            now = self._clock.now()
            if session is None or token is None or not session.is_active(now):
                raise RefreshTokenInvalid
            if cmd.csrf_token is not None and not hmac.compare_digest(
                cmd.csrf_token.encode(), self._tokens.csrf_for(session.id).encode()
            ):
                raise CsrfFailed
            outcome = session.classify(token, now, self._policy.reuse_grace)
            if outcome is RefreshOutcome.REUSE:
                session.revoke(now, "refresh_token_reuse")
                await uow.audit.record(
                    SecurityEvent(
                        type="auth.refresh_token_reused",
                        user_id=session.user_id,
                        session_id=session.id,
                        ip=cmd.ip,
                        user_agent=cmd.user_agent,
                        details={"generation": str(token.generation)},
                    )
                )
                await uow.commit()
                await self._revocations.revoked([session.id])  # its access tokens too, now
                log.warning(
                    "refresh token reuse: session revoked",
                    extra={"session_id": str(session.id), "user_id": str(session.user_id)},
                )
                raise RefreshTokenReused
            child = self._tokens.child_of(presented)
            if outcome is RefreshOutcome.ROTATE:
                await uow.refresh_tokens.add(
                    session.rotate(token, self._tokens.hash(child), now, self._policy.idle_ttl)
                )
            await uow.commit()
        account = await self._accounts.get(session.user_id)
        if account is None or not account.is_active:
            raise RefreshTokenInvalid
        return self._pairs(account, session, child, now)
