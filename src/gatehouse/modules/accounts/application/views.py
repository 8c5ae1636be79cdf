"""Read models returned to the delivery layer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from gatehouse.modules.accounts.domain.errors import AccountGone
from gatehouse.modules.accounts.domain.model import MfaSummary


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


class UserViews(Protocol):
    """The read side: users as clients see them, without loading the aggregate. The only
    place a ``UserView`` is made, so every answer that shows a user shows it the same way."""

    async def get(self, user_id: uuid.UUID) -> UserView | None: ...


@dataclass(frozen=True, slots=True)
class IdentityView:
    """A provider account linked to the user, as their settings show it."""

    id: uuid.UUID
    provider: str
    email: str | None
    created_at: datetime
    last_used_at: datetime | None


class IdentityViews(Protocol):
    async def of_user(
        self, user_id: uuid.UUID, *, limit: int, before: uuid.UUID | None
    ) -> list[IdentityView]:
        """The user's identities, newest first, those older than ``before`` when given."""
        ...


async def current_view(views: UserViews, user_id: uuid.UUID) -> UserView:
    """The user as committed, for answers to a change (read after its commit)."""
    view = await views.get(user_id)
    if view is None:  # deleted right after the change
        raise AccountGone
    return view
