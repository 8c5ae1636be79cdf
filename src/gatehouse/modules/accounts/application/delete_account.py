"""Delete the signed-in user's account, proving the password.

In one transaction: every session ends and forgets the user's IP and user agent, the user's
audit events are erased and one ``account.deleted`` event (the account id and the time, nothing
personal) is recorded, and the account row goes with its one-time tokens. After the commit the
ended sessions' access tokens are denylisted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, PasswordHasher
from gatehouse.modules.accounts.application.reauth import reauthenticate
from gatehouse.modules.accounts.domain.errors import ReauthFailed
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.public import SessionDenylist


@dataclass(frozen=True, slots=True)
class DeleteAccount:
    user_id: uuid.UUID
    password: str


class DeleteAccountHandler:
    def __init__(
        self,
        uow: Callable[[], AccountsUnitOfWork],
        hasher: PasswordHasher,
        denylist: SessionDenylist,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._denylist = denylist

    async def __call__(self, cmd: DeleteAccount) -> None:
        await reauthenticate(self._uow, self._hasher, cmd.user_id, cmd.password)
        async with self._uow() as uow:
            user = await uow.users.get(cmd.user_id, for_update=True)
            if user is None:  # deleted meanwhile, by a racing request
                raise ReauthFailed
            ended = await uow.sessions.end_all(user.id, "account_deleted")
            await uow.sessions.forget(user.id)
            await uow.audit.erase(user.id)
            await uow.audit.record(SecurityEvent(type="account.deleted", user_id=user.id))
            await uow.users.delete(user)
            await uow.commit()
        await self._denylist.revoked(ended)
