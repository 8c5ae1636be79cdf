"""Change the password while signed in, proving the current one.

The other sessions end (this one stays), a pending reset link stops working, an audit event
and a "password changed" notice are written, all in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.mails import LinkSettings, password_changed_notice
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, PasswordHasher
from gatehouse.modules.accounts.domain.errors import ReauthFailed
from gatehouse.modules.accounts.domain.model import TokenPurpose
from gatehouse.modules.accounts.domain.password_policy import PasswordPolicy
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.public import SessionDenylist
from gatehouse.shared.clock import Clock


@dataclass(frozen=True, slots=True)
class ChangePassword:
    user_id: uuid.UUID
    session_id: uuid.UUID  # the caller's: it stays signed in
    current_password: str
    new_password: str
    ip: str | None = None
    user_agent: str | None = None
    locale: str = "en"


class ChangePasswordHandler:
    def __init__(
        self,
        *,
        uow: Callable[[], AccountsUnitOfWork],
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        denylist: SessionDenylist,
        clock: Clock,
        links: LinkSettings,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._denylist = denylist
        self._clock = clock
        self._links = links

    async def __call__(self, cmd: ChangePassword) -> None:
        async with self._uow() as uow:
            user = await uow.users.get(cmd.user_id)
        if user is None or user.password_hash is None or not user.is_active:
            await self._hasher.verify_dummy(cmd.current_password)
            raise ReauthFailed
        current = user.password_hash
        if not await self._hasher.verify(cmd.current_password, current):
            raise ReauthFailed
        self._policy.check(cmd.new_password, user.email)
        new_hash = await self._hasher.hash(cmd.new_password)
        async with self._uow() as uow:
            now = self._clock.now()
            user = await uow.users.get(cmd.user_id, for_update=True)
            if user is None or user.password_hash != current:  # changed meanwhile
                raise ReauthFailed
            user.change_password(new_hash, now)
            await uow.tokens.void_unused(user.id, TokenPurpose.RESET_PASSWORD, now)
            ended = await uow.sessions.end_all(user.id, "password_changed", keep=cmd.session_id)
            await uow.audit.record(
                SecurityEvent(
                    type="account.password_changed",
                    user_id=user.id,
                    session_id=cmd.session_id,
                    ip=cmd.ip,
                    user_agent=cmd.user_agent,
                    details={"sessions_ended": str(len(ended))},
                )
            )
            await uow.outbox.enqueue(
                password_changed_notice(
                    self._links, user, now, user.mail_locale(cmd.locale), everywhere=False
                )
            )
            await uow.commit()
        await self._denylist.revoked(ended)
