"""Re-authentication for sensitive changes.

The password half of step-up lives here (``reauthenticate``, offered to auth through the
``AccountDirectory`` facade); auth adds MFA codes and hands routes a ``StepUpProof``. Use cases
that change something sensitive take that proof and check it is the acting user's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, PasswordHasher
from gatehouse.modules.accounts.domain.errors import ReauthFailed
from gatehouse.modules.accounts.domain.model import User
from gatehouse.shared.step_up import StepUpProof


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


def check_proof(proof: StepUpProof, user_id: uuid.UUID) -> None:
    """A proof given by someone else is no proof."""
    if proof.user_id != user_id:
        raise ReauthFailed
