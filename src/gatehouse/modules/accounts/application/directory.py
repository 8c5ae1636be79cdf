"""The accounts facade used by the auth module to sign users in."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, PasswordHasher
from gatehouse.modules.accounts.application.public import (
    AccountDirectory,
    AccountProfile,
    AccountSnapshot,
)
from gatehouse.modules.accounts.application.reauth import reauthenticate
from gatehouse.modules.accounts.application.views import IdentityViews, UserView, UserViews
from gatehouse.modules.accounts.domain.errors import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidEmail,
)
from gatehouse.modules.accounts.domain.model import Email, PasswordHash, User
from gatehouse.shared.clock import Clock


def account_snapshot(user: User) -> AccountSnapshot:
    return AccountSnapshot(
        user_id=user.id,
        email=user.email.value,
        roles=user.roles,
        is_active=user.is_active,
        email_verified=user.email_verified,
        locale=user.locale,
    )


def _snapshot_of_view(view: UserView) -> AccountSnapshot:
    return AccountSnapshot(
        user_id=view.id,
        email=view.email,
        roles=view.roles,
        is_active=view.is_active,
        email_verified=view.email_verified,
        locale=view.locale,
    )


MAX_LISTED_IDENTITIES = 100  # one per provider: far more than any deployment configures


class AccountsDirectory(AccountDirectory):
    def __init__(
        self,
        uow: Callable[[], AccountsUnitOfWork],
        views: UserViews,
        identity_views: IdentityViews,
        hasher: PasswordHasher,
        clock: Clock,
        *,
        require_verified_email: bool,
    ) -> None:
        self._uow = uow
        self._views = views
        self._identity_views = identity_views
        self._hasher = hasher
        self._clock = clock
        self._require_verified = require_verified_email

    async def authenticate(self, email: str, password: str) -> AccountSnapshot:
        try:
            address = Email.parse(email)
        except InvalidEmail:
            await self._hasher.verify_dummy(password)
            raise InvalidCredentials from None
        async with self._uow() as uow:
            user = await uow.users.get_by_email(address)
        if user is None or user.password_hash is None:
            await self._hasher.verify_dummy(password)
            raise InvalidCredentials
        if not await self._hasher.verify(password, user.password_hash) or not user.is_active:
            raise InvalidCredentials
        if self._require_verified and not user.email_verified:
            raise EmailNotVerified
        if self._hasher.needs_rehash(user.password_hash):
            await self._rehash(user.id, user.password_hash, password)
        return account_snapshot(user)

    async def _rehash(self, user_id: uuid.UUID, old: PasswordHash, password: str) -> None:
        """Upgrade the stored hash, unless the password changed meanwhile."""
        new_hash = await self._hasher.hash(password)
        async with self._uow() as uow:
            user = await uow.users.get(user_id, for_update=True)
            if user is not None and user.rehash(old, new_hash, self._clock.now()):
                await uow.commit()

    async def reauthenticate(self, user_id: uuid.UUID, password: str) -> AccountSnapshot:
        return account_snapshot(await reauthenticate(self._uow, self._hasher, user_id, password))

    async def get(self, user_id: uuid.UUID) -> AccountSnapshot | None:
        view = await self._views.get(user_id)
        return None if view is None else _snapshot_of_view(view)

    async def profile(self, user_id: uuid.UUID) -> AccountProfile | None:
        view = await self._views.get(user_id)
        if view is None:
            return None
        identities = await self._identity_views.of_user(
            user_id, limit=MAX_LISTED_IDENTITIES, before=None
        )
        return AccountProfile(
            account=_snapshot_of_view(view),
            display_name=view.display_name,
            created_at=view.created_at,
            mfa=view.mfa,
            identities=tuple(sorted(identity.provider for identity in identities)),
        )
