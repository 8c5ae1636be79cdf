"""Re-authentication for sensitive changes: the signed-in user proves the password again."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, PasswordHasher
from gatehouse.modules.accounts.domain.errors import ReauthFailed
from gatehouse.modules.accounts.domain.model import User


async def reauthenticate(
    uow: Callable[[], AccountsUnitOfWork],
    hasher: PasswordHasher,
    user_id: uuid.UUID,
    password: str,
) -> User:
    """The user, if ``password`` is theirs; else 403 ``reauth_failed`` after the same work."""
    async with uow() as tx:
        user = await tx.users.get(user_id)
    if user is None or user.password_hash is None or not user.is_active:
        await hasher.verify_dummy(password)
        raise ReauthFailed
    if not await hasher.verify(password, user.password_hash):
        raise ReauthFailed
    return user
