"""Change the password while signed in, after a step-up (the current password or an MFA code).

The other sessions end (this one stays), a pending reset link stops working, an audit event
and a "password changed" notice are written, all in one transaction (``PasswordSetter``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.password_reset import PasswordSetter
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.reauth import check_proof
from gatehouse.modules.accounts.domain.errors import ReauthFailed
from gatehouse.modules.accounts.domain.events import PasswordChanged
from gatehouse.modules.accounts.domain.model import TokenPurpose
from gatehouse.shared.clock import Clock
from gatehouse.shared.step_up import StepUpProof


@dataclass(frozen=True, slots=True)
class ChangePassword:
    user_id: uuid.UUID
    session_id: uuid.UUID  # the caller's: it stays signed in
    proof: StepUpProof
    new_password: str
    ip: str | None = None
    user_agent: str | None = None
    locale: str = "en"


class ChangePasswordHandler:
    def __init__(
        self, *, uow: Callable[[], AccountsUnitOfWork], setter: PasswordSetter, clock: Clock
    ) -> None:
        self._uow = uow
        self._setter = setter
        self._clock = clock

    async def __call__(self, cmd: ChangePassword) -> None:
        check_proof(cmd.proof, cmd.user_id)
        async with self._uow() as uow:
            user = await uow.users.get(cmd.user_id)
        if user is None:
            raise ReauthFailed
        new_hash = await self._setter.hash(cmd.new_password, user.email)
        async with self._uow() as uow:
            now = self._clock.now()
            user = await uow.users.get(cmd.user_id, for_update=True)
            if user is None:  # deleted meanwhile
                raise ReauthFailed
            await uow.tokens.void_unused(user.id, TokenPurpose.RESET_PASSWORD, now)
            change = PasswordChanged(
                user_id=user.id,
                reset=False,
                kept_session=cmd.session_id,
                ip=cmd.ip,
                user_agent=cmd.user_agent,
            )
            self._setter.set(uow, user, new_hash, now=now, change=change, locale=cmd.locale)
            await uow.commit()
