"""Auth domain: sessions (one per sign-in) and access-token claims."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum


class RefreshOutcome(Enum):
    ROTATE = "rotate"  # the live token: issue its child
    REPLAY = "replay"  # the parent, again, within the grace interval: the same child again
    REUSE = "reuse"  # anything older: someone else holds a copy; end the session


@dataclass(eq=False, kw_only=True)
class Session:
    """A signed-in device: a family of refresh tokens, each the child of the one before.

    ``generation`` names the one live token; older generations have been rotated.
    """

    id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    idle_expires_at: datetime
    absolute_expires_at: datetime
    user_agent: str | None = None
    ip: str | None = None
    amr: tuple[str, ...] = ()
    generation: int = 0
    revoked_at: datetime | None = None
    revoke_reason: str | None = None

    def is_active(self, now: datetime) -> bool:
        return (
            self.revoked_at is None
            and now < self.idle_expires_at
            and now < self.absolute_expires_at
        )

    def classify(self, token: RefreshToken, now: datetime, grace: timedelta) -> RefreshOutcome:
        if token.generation == self.generation and token.rotated_at is None:
            return RefreshOutcome.ROTATE
        if (
            token.generation == self.generation - 1
            and token.rotated_at is not None
            and now - token.rotated_at <= grace
        ):
            return RefreshOutcome.REPLAY
        return RefreshOutcome.REUSE

    def rotate(
        self, token: RefreshToken, child_hash: bytes, now: datetime, idle: timedelta
    ) -> RefreshToken:
        """Retire ``token`` and return its child, the new live token."""
        token.rotated_at = now
        self.generation += 1
        self.touch(now, idle)
        return RefreshToken(
            token_hash=child_hash, session_id=self.id, generation=self.generation, created_at=now
        )

    def touch(self, now: datetime, idle: timedelta) -> None:
        self.last_used_at = now
        self.idle_expires_at = min(now + idle, self.absolute_expires_at)

    def revoke(self, now: datetime, reason: str) -> None:
        if self.revoked_at is None:
            self.revoked_at = now
            self.revoke_reason = reason


@dataclass(eq=False, kw_only=True)
class RefreshToken:
    """One generation of a session's refresh token; only its hash is stored."""

    token_hash: bytes
    session_id: uuid.UUID
    generation: int
    created_at: datetime
    rotated_at: datetime | None = None


# The RFC 9068 ``client_id`` of every access token. Gatehouse registers no OAuth clients: every
# client (the web app, Swagger UI, a CLI) is first-party and a public client, so they share one
# documented id rather than one a caller could choose. See ADR 0020.
FIRST_PARTY_CLIENT_ID = "first-party"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What an access token asserts, after its signature and claims were checked."""

    subject: uuid.UUID
    session_id: uuid.UUID
    token_id: str
    roles: tuple[str, ...]
    amr: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    client_id: str
