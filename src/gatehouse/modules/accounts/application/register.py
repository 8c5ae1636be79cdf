"""Register an account. The answer is the same whether or not the address is taken."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, PasswordHasher
from gatehouse.modules.accounts.application.tokens import hash_secret, new_secret
from gatehouse.modules.accounts.domain.errors import EmailAlreadyRegistered
from gatehouse.modules.accounts.domain.model import (
    DisplayName,
    Email,
    OneTimeToken,
    TokenPurpose,
    User,
)
from gatehouse.modules.accounts.domain.password_policy import PasswordPolicy
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id

log = logging.getLogger("gatehouse.accounts")


@dataclass(frozen=True, slots=True)
class RegisterUser:
    email: str
    password: str
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class LinkSettings:
    public_url: str
    verification_ttl: timedelta

    def link(self, page: str, token: str) -> str:
        return f"{self.public_url}/{page}?{urlencode({'token': token})}"


class RegisterUserHandler:
    def __init__(
        self,
        uow: Callable[[], AccountsUnitOfWork],
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        clock: Clock,
        links: LinkSettings,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._clock = clock
        self._links = links

    async def __call__(self, cmd: RegisterUser) -> None:
        email = Email.parse(cmd.email)
        display_name = DisplayName.parse(cmd.display_name)
        self._policy.check(cmd.password, email)
        # Hash before looking the address up, so both paths cost the same.
        password_hash = await self._hasher.hash(cmd.password)
        now = self._clock.now()
        try:
            async with self._uow() as uow:
                existing = await uow.users.get_by_email(email)
                if existing is not None:
                    await uow.outbox.enqueue(self._already_registered(email))
                    await uow.commit()
                    return
                user = User(
                    id=new_id(),
                    email=email,
                    password_hash=password_hash,
                    display_name=display_name,
                    created_at=now,
                    updated_at=now,
                )
                await uow.users.add(user)
                secret = new_secret()
                await uow.tokens.add(
                    OneTimeToken(
                        id=new_id(),
                        user_id=user.id,
                        purpose=TokenPurpose.VERIFY_EMAIL,
                        token_hash=hash_secret(secret),
                        created_at=now,
                        expires_at=now + self._links.verification_ttl,
                    )
                )
                await uow.outbox.enqueue(
                    OutgoingMail(
                        to=email.value,
                        template="verify_email",
                        params={
                            "link": self._links.link("verify-email", secret),
                            "hours": str(int(self._links.verification_ttl.total_seconds() // 3600)),
                        },
                    )
                )
                await uow.commit()
        except EmailAlreadyRegistered:
            # A concurrent registration won the race for this address; answer the same.
            log.info("registration lost a race for an address")

    def _already_registered(self, email: Email) -> OutgoingMail:
        return OutgoingMail(
            to=email.value,
            template="already_registered",
            params={"reset_link": f"{self._links.public_url}/forgot-password"},
        )
