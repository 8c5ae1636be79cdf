"""Change the password while signed in, proving the current one.

The other sessions end (this one stays), a pending reset link stops working, an audit event
and a "password changed" notice are written, all in one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from gatehouse.modules.accounts.application.mails import password_changed_notice
from gatehouse.modules.accounts.application.password_reset import PasswordHandler
from gatehouse.modules.accounts.application.reauth import reauthenticate
from gatehouse.modules.accounts.domain.errors import ReauthFailed
from gatehouse.modules.accounts.domain.model import TokenPurpose
from gatehouse.modules.audit.application.public import SecurityEvent


@dataclass(frozen=True, slots=True)
class ChangePassword:
    user_id: uuid.UUID
    session_id: uuid.UUID  # the caller's: it stays signed in
    current_password: str
    new_password: str
    ip: str | None = None
    user_agent: str | None = None
    locale: str = "en"


class ChangePasswordHandler(PasswordHandler):
    async def __call__(self, cmd: ChangePassword) -> None:
        proven = await reauthenticate(self._uow, self._hasher, cmd.user_id, cmd.current_password)
        current = proven.password_hash
        self._policy.check(cmd.new_password, proven.email)
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
