"""Resolve the calling principal from a bearer access token."""

from __future__ import annotations

from gatehouse.modules.auth.application.ports import AccessTokenVerifier, SessionRevocations
from gatehouse.modules.auth.domain.errors import InvalidAccessToken
from gatehouse.shared.principal import Principal, PrincipalResolver


class AccessTokenPrincipalResolver(PrincipalResolver):
    """A valid signature is not enough: the token's session must not have ended."""

    def __init__(self, verifier: AccessTokenVerifier, revocations: SessionRevocations) -> None:
        self._verifier = verifier
        self._revocations = revocations

    async def resolve(self, access_token: str) -> Principal:
        claims = self._verifier.verify(access_token)
        if await self._revocations.is_revoked(claims.session_id):
            raise InvalidAccessToken
        return Principal(
            user_id=claims.subject,
            session_id=claims.session_id,
            roles=claims.roles,
            amr=claims.amr,
            token_id=claims.token_id,
        )
