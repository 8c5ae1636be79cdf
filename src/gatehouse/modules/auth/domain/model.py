"""Auth domain: sessions (one per sign-in) and access-token claims."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(eq=False, kw_only=True)
class Session:
    """A signed-in device. Its refresh token is stored only as a hash."""

    id: uuid.UUID
    user_id: uuid.UUID
    refresh_token_hash: bytes
    created_at: datetime
    last_used_at: datetime
    idle_expires_at: datetime
    absolute_expires_at: datetime
    user_agent: str | None = None
    ip: str | None = None
    amr: list[str] = field(default_factory=list)
    revoked_at: datetime | None = None

    def is_active(self, now: datetime) -> bool:
        return (
            self.revoked_at is None
            and now < self.idle_expires_at
            and now < self.absolute_expires_at
        )


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
