"""Ports of the accounts module, narrow and owned by the use cases that need them
(``UserViews``, the read side, lives beside ``UserView`` in ``views``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gatehouse.modules.accounts.domain.identity import Identity
from gatehouse.modules.accounts.domain.model import (
    Email,
    OneTimeToken,
    PasswordHash,
    TokenPurpose,
    User,
)
from gatehouse.shared.uow import UnitOfWork


class UserRepository(Protocol):
    async def add(self, user: User) -> None: ...

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None: ...

    async def get_by_email(self, email: Email, *, for_update: bool = False) -> User | None:
        """``for_update``: locked, and ``None`` when a concurrent change moved the address."""
        ...

    async def add_unregistered(self, users: Sequence[User]) -> frozenset[Email]:
        """Add those of ``users`` whose address is not registered yet, at once (an import's
        batch: distinct addresses); the addresses added. Never raises for a taken one."""
        ...

    async def delete(self, user: User) -> None:
        """The user and everything of theirs this module holds (one-time tokens, identities)."""
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


class IdentityRepository(Protocol):
    """Provider accounts linked to users (social login), found by ``(issuer, subject)`` only.
    A user's identities go with the user (``UserRepository.delete``)."""

    async def add(self, identity: Identity) -> None:
        """Raises ``IdentityLinkConflict`` when ``(issuer, subject)`` is linked already, or the
        user has an identity of that provider."""
        ...

    async def get(
        self, issuer: str, subject: str, *, for_update: bool = False
    ) -> Identity | None: ...

    async def of_user(self, user_id: uuid.UUID) -> list[Identity]:
        """Every identity of the user, oldest first."""
        ...

    async def remove(self, identity: Identity) -> None:
        """Gone at once: an identity of the same provider can be added next."""
        ...


class AccountsUnitOfWork(UnitOfWork, Protocol):
    """Accounts' repositories; mails, security events and what other modules must do about a
    change are recorded (``record``) and handled when it commits."""

    users: UserRepository
    tokens: OneTimeTokenRepository
    identities: IdentityRepository


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> PasswordHash: ...

    async def verify(self, password: str, hashed: PasswordHash) -> bool: ...

    async def verify_dummy(self, password: str) -> None:
        """Spend the same time as a real verification, for unknown accounts."""
        ...

    def needs_rehash(self, hashed: PasswordHash) -> bool: ...
