"""Read models returned to the delivery layer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from gatehouse.modules.accounts.domain.model import MfaSummary, User


@dataclass(frozen=True, slots=True)
class UserView:
    id: uuid.UUID
    email: str
    email_verified: bool
    display_name: str | None
    roles: tuple[str, ...]
    is_active: bool
    created_at: datetime
    locale: str | None = None
    mfa: MfaSummary = field(default_factory=MfaSummary)

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            email=user.email.value,
            email_verified=user.email_verified,
            display_name=user.display_name.value if user.display_name else None,
            roles=user.roles,
            is_active=user.is_active,
            created_at=user.created_at,
            locale=user.locale,
            mfa=user.mfa,
        )
