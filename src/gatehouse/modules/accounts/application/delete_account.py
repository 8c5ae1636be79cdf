"""Delete the signed-in user's account, after a step-up (the password or an MFA code).

In one transaction: the account row goes with its one-time tokens, ``AccountDeleted`` is
recorded (auth's handler ends every session, forgets the user's IP and user agent and every MFA
row, and denylists the ended sessions' access tokens after the commit), the user's audit events
are erased and one ``account.deleted`` event (the account id and the time, nothing personal)
remains.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.reauth import check_proof
from gatehouse.modules.accounts.domain.errors import ReauthFailed
from gatehouse.modules.accounts.domain.events import AccountDeleted
from gatehouse.modules.audit.application.public import SecurityEvent, SecurityEventsErased
from gatehouse.shared.step_up import StepUpProof


@dataclass(frozen=True, slots=True)
class DeleteAccount:
    user_id: uuid.UUID
    proof: StepUpProof


class DeleteAccountHandler:
    def __init__(self, uow: Callable[[], AccountsUnitOfWork]) -> None:
        self._uow = uow

    async def __call__(self, cmd: DeleteAccount) -> None:
        check_proof(cmd.proof, cmd.user_id)
        async with self._uow() as uow:
            user = await uow.users.get(cmd.user_id, for_update=True)
            if user is None:  # deleted meanwhile, by a racing request
                raise ReauthFailed
            uow.record(AccountDeleted(user_id=user.id))
            uow.record(SecurityEventsErased(user_id=user.id))
            uow.record(SecurityEvent(type="account.deleted", user_id=user.id))
            await uow.users.delete(user)
            await uow.commit()
