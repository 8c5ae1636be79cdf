"""Delete the signed-in user's account, after a step-up (the password or an MFA code).

In one transaction: every session ends and forgets the user's IP and user agent, the user's
audit events are erased and one ``account.deleted`` event (the account id and the time, nothing
personal) is recorded, and the account row goes with its one-time tokens. After the commit the
ended sessions' access tokens are denylisted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.reauth import check_proof
from gatehouse.modules.accounts.domain.errors import ReauthFailed
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.public import SessionDenylist
from gatehouse.shared.step_up import StepUpProof


@dataclass(frozen=True, slots=True)
class DeleteAccount:
    user_id: uuid.UUID
    proof: StepUpProof


class DeleteAccountHandler:
    def __init__(
        self,
        uow: Callable[[], AccountsUnitOfWork],
        denylist: SessionDenylist,
    ) -> None:
        self._uow = uow
        self._denylist = denylist

    async def __call__(self, cmd: DeleteAccount) -> None:
        check_proof(cmd.proof, cmd.user_id)
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
