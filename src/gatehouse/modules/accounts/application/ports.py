"""Ports of the accounts module, narrow and owned by the use cases that need them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from gatehouse.modules.accounts.application.views import UserView
from gatehouse.modules.accounts.domain.model import (
    Email,
    OneTimeToken,
    PasswordHash,
    TokenPurpose,
    User,
)
from gatehouse.modules.audit.application.public import AuditTrail
from gatehouse.modules.auth.application.public import SessionTerminator
from gatehouse.modules.notifications.application.public import MailOutbox
from gatehouse.shared.uow import UnitOfWork


class UserRepository(Protocol):
    async def add(self, user: User) -> None: ...

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None: ...

    async def get_by_email(self, email: Email) -> User | None: ...

    async def delete(self, user: User) -> None:
        """The user and everything of theirs this module holds (one-time tokens)."""
        ...


class OneTimeTokenRepository(Protocol):
    async def add(self, token: OneTimeToken) -> None: ...

    async def get_by_hash(self, purpose: TokenPurpose, token_hash: bytes) -> OneTimeToken | None:
        """Return the token locked for update, so two redemptions cannot both succeed."""
        ...

    async def newest_usable(
        self, user_id: uuid.UUID, purpose: TokenPurpose, now: datetime
    ) -> OneTimeToken | None:
        """The user's newest usable token of this purpose, locked for update."""
        ...

    async def void_unused(
        self, user_id: uuid.UUID, purpose: TokenPurpose | None, now: datetime
    ) -> None:
        """Mark every unused token of this purpose (``None``: of every purpose) used."""
        ...


class AccountsUnitOfWork(UnitOfWork, Protocol):
    users: UserRepository
    tokens: OneTimeTokenRepository
    outbox: MailOutbox
    audit: AuditTrail
    sessions: SessionTerminator  # auth's: ends sessions in this transaction


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> PasswordHash: ...

    async def verify(self, password: str, hashed: PasswordHash) -> bool: ...

    async def verify_dummy(self, password: str) -> None:
        """Spend the same time as a real verification, for unknown accounts."""
        ...

    def needs_rehash(self, hashed: PasswordHash) -> bool: ...


class UserViews(Protocol):
    """The read side: users as clients see them, without loading the aggregate."""

    async def get(self, user_id: uuid.UUID) -> UserView | None: ...
