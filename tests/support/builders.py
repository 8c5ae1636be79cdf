"""Small builders for domain objects, with unique keys so committed rows never collide."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from gatehouse.modules.accounts.domain.model import (
    DisplayName,
    Email,
    OneTimeToken,
    PasswordHash,
    TokenPurpose,
    User,
)
from gatehouse.shared.ids import new_id

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def unique_email(prefix: str = "user") -> Email:
    return Email(f"{prefix}-{secrets.token_hex(6)}@example.com")


def a_user(
    email: Email | None = None,
    *,
    now: datetime = T0,
    display_name: str | None = "Ada Lovelace",
    password_hash: str | None = "gh1$1$not-a-real-hash",
) -> User:
    return User(
        id=new_id(),
        email=email or unique_email(),
        password_hash=PasswordHash(password_hash) if password_hash is not None else None,
        display_name=DisplayName(display_name) if display_name is not None else None,
        created_at=now,
        updated_at=now,
    )


def a_token(
    user_id: uuid.UUID,
    *,
    now: datetime = T0,
    ttl: timedelta = timedelta(hours=24),
    purpose: TokenPurpose = TokenPurpose.VERIFY_EMAIL,
) -> tuple[OneTimeToken, bytes]:
    """A token and its hash (the secret itself is never stored)."""
    token_hash = hashlib.sha256(secrets.token_bytes(32)).digest()
    token = OneTimeToken(
        id=new_id(),
        user_id=user_id,
        purpose=purpose,
        token_hash=token_hash,
        created_at=now,
        expires_at=now + ttl,
    )
    return token, token_hash
