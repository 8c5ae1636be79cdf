"""Make an account an administrator (the operator's ``gatehouse create-admin``)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, PasswordHasher
from gatehouse.modules.accounts.domain.model import Email, Role, User
from gatehouse.modules.accounts.domain.password_policy import PasswordPolicy
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id


@dataclass(frozen=True, slots=True)
class CreateAdmin:
    email: str
    password: str | None = None  # None: promote an existing account, or generate one


@dataclass(frozen=True, slots=True)
class AdminCreated:
    user_id: str
    created: bool
    generated_password: str | None


class CreateAdminHandler:
    def __init__(
        self,
        uow: Callable[[], AccountsUnitOfWork],
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._clock = clock

    async def __call__(self, cmd: CreateAdmin) -> AdminCreated:
        email = Email.parse(cmd.email)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
            if user is not None:
                user.grant_role(Role.ADMIN, now)
                if cmd.password is not None:
                    self._policy.check(cmd.password, email)
                    user.change_password(await self._hasher.hash(cmd.password), now)
                await uow.commit()
                return AdminCreated(str(user.id), created=False, generated_password=None)
            generated = None
            password = cmd.password
            if password is None:
                password = generated = secrets.token_urlsafe(18)
            self._policy.check(password, email)
            user = User.register(
                user_id=new_id(),
                email=email,
                password_hash=await self._hasher.hash(password),
                display_name=None,
                now=now,
                email_verified=True,  # the operator vouches for the address
            )
            user.grant_role(Role.ADMIN, now)
            await uow.users.add(user)
            uow.record(
                SecurityEvent(
                    type="account.registered",
                    user_id=user.id,
                    details={"method": "command_line"},
                )
            )
            await uow.commit()
            return AdminCreated(str(user.id), created=True, generated_password=generated)
