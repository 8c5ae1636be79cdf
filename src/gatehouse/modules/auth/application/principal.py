"""Resolve the calling principal from a bearer access token."""

from __future__ import annotations

from gatehouse.modules.auth.application.ports import AccessTokenVerifier
from gatehouse.shared.principal import Principal, PrincipalResolver


class AccessTokenPrincipalResolver(PrincipalResolver):
    def __init__(self, verifier: AccessTokenVerifier) -> None:
        self._verifier = verifier

    async def resolve(self, access_token: str) -> Principal:
        claims = self._verifier.verify(access_token)
        return Principal(
            user_id=claims.subject,
            session_id=claims.session_id,
            roles=claims.roles,
            amr=claims.amr,
            token_id=claims.token_id,
        )
