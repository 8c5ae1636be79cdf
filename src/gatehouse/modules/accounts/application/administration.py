"""What an administrator changes about another user's account (``PATCH /admin/users/{id}``).

Disabling ends every session at once, refresh included, and changing roles ends them too (roles
travel in access tokens): accounts records ``AccountDisabled`` / ``RolesChanged`` and auth's
handlers end the sessions in the same transaction. Changing roles is a sensitive change, so it
takes the administrator's step-up proof. Each change is an audit event naming the acting
administrator.

The operator's command line (``gatehouse users disable|enable``) goes through the same use case
without an administrator account: ``admin_id`` is ``None`` and ``operator`` names who acted
(``cli:<OS user>``); the audit event then carries ``operator`` instead of ``admin_id``. Changing
roles takes an administrator's step-up proof, so it stays an administrator's action.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.reauth import check_proof
from gatehouse.modules.accounts.application.views import UserView, UserViews, current_view
from gatehouse.modules.accounts.domain.errors import (
    OwnAccessUnchangeable,
    ReauthFailed,
    UserNotFound,
)
from gatehouse.modules.accounts.domain.events import AccountDisabled, RolesChanged
from gatehouse.modules.accounts.domain.model import Role
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.shared.clock import Clock
from gatehouse.shared.step_up import StepUpProof


@dataclass(frozen=True, slots=True)
class UpdateUser:
    admin_id: uuid.UUID | None  # None: an operator on the command line, named by ``operator``
    user_id: uuid.UUID
    is_active: bool | None = None
    roles: tuple[str, ...] | None = None
    email_verified: bool | None = None
    proof: StepUpProof | None = None  # the administrator's, needed to change roles
    ip: str | None = None
    user_agent: str | None = None
    operator: str | None = None  # who acted when no administrator account did (``cli:alice``)

    def __post_init__(self) -> None:
        if (self.admin_id is None) == (self.operator is None):
            msg = "an update names either an administrator or an operator"
            raise ValueError(msg)

    @property
    def actor(self) -> dict[str, str]:
        """Who acted, as the audit event's details name them."""
        if self.admin_id is not None:
            return {"admin_id": str(self.admin_id)}
        assert self.operator is not None
        return {"operator": self.operator}


class UpdateUserHandler:
    def __init__(
        self, *, uow: Callable[[], AccountsUnitOfWork], views: UserViews, clock: Clock
    ) -> None:
        self._uow = uow
        self._views = views
        self._clock = clock

    async def __call__(self, cmd: UpdateUser) -> UserView:
        roles = None if cmd.roles is None else Role.parse_all(cmd.roles)
        if roles is not None:
            if cmd.proof is None or cmd.admin_id is None:
                raise ReauthFailed("changing roles needs your password or a code")
            check_proof(cmd.proof, cmd.admin_id)
        if cmd.user_id == cmd.admin_id and (cmd.is_active is False or roles is not None):
            raise OwnAccessUnchangeable
        async with self._uow() as uow:
            now = self._clock.now()
            user = await uow.users.get(cmd.user_id, for_update=True)
            if user is None:
                raise UserNotFound
            changes: dict[str, str] = {}
            if cmd.email_verified is not None and user.set_email_verified(cmd.email_verified, now):
                changes["email_verified"] = str(cmd.email_verified).lower()
            if roles is not None and user.set_roles(roles, now):
                changes["roles"] = ",".join(user.roles)
                assert cmd.admin_id is not None  # checked with the proof above
                uow.record(RolesChanged(user_id=user.id, roles=user.roles, by=cmd.admin_id))
            if cmd.is_active is not None and user.set_active(cmd.is_active, now):
                changes["is_active"] = str(cmd.is_active).lower()
                if not cmd.is_active:
                    uow.record(AccountDisabled(user_id=user.id, by=cmd.admin_id))
            if changes:
                uow.record(
                    SecurityEvent(
                        type="admin.user_updated",
                        user_id=user.id,
                        ip=cmd.ip,
                        user_agent=cmd.user_agent,
                        details={**cmd.actor, **changes},
                    )
                )
            await uow.commit()
        return await current_view(self._views, cmd.user_id)
