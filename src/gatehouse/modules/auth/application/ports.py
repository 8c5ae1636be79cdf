"""Ports of the auth module."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from gatehouse.modules.auth.domain.model import AccessClaims, Session
from gatehouse.shared.uow import UnitOfWork


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None: ...

    async def get(self, session_id: uuid.UUID) -> Session | None: ...


class AuthUnitOfWork(UnitOfWork, Protocol):
    sessions: SessionRepository


class AccessTokenIssuer(Protocol):
    def issue(self, claims: AccessClaims) -> str:
        """Sign the claims with the active key."""
        ...


class AccessTokenVerifier(Protocol):
    def verify(self, token: str) -> AccessClaims:
        """Check signature and claims or raise ``InvalidAccessToken``."""
        ...


class PublicKeySet(Protocol):
    def jwks(self) -> Mapping[str, Any]:
        """The public keys as a JWK Set (RFC 7517)."""
        ...
