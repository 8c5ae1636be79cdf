"""Register an account. The answer is the same whether or not the address is taken."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.mails import LinkSettings, issue_token
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, PasswordHasher
from gatehouse.modules.accounts.application.tokens import new_code
from gatehouse.modules.accounts.domain.errors import EmailAlreadyRegistered
from gatehouse.modules.accounts.domain.model import (
    DisplayName,
    Email,
    TokenPurpose,
    User,
)
from gatehouse.modules.accounts.domain.password_policy import PasswordPolicy
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.notifications.application.public import (
    MailCaps,
    MailPurpose,
    OutgoingMail,
)
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id

log = logging.getLogger("gatehouse.accounts")


@dataclass(frozen=True, slots=True)
class RegisterUser:
    email: str
    password: str
    display_name: str | None = None
    locale: str = "en"  # of the mails: from the request's Accept-Language


class RegisterUserHandler:
    def __init__(
        self,
        *,
        uow: Callable[[], AccountsUnitOfWork],
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        caps: MailCaps,
        clock: Clock,
        links: LinkSettings,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._caps = caps
        self._clock = clock
        self._links = links

    async def __call__(self, cmd: RegisterUser) -> None:
        email = Email.parse(cmd.email)
        display_name = DisplayName.parse(cmd.display_name)
        self._policy.check(cmd.password, email)
        # Hash before looking the address up, so both paths cost the same.
        password_hash = await self._hasher.hash(cmd.password)
        # The verification mail counts toward the address's verification budget (a resend right
        # after it sends nothing). Asked on both paths, so both cost the same.
        may_mail = await self._caps.allow(email.value, MailPurpose.VERIFICATION)
        now = self._clock.now()
        try:
            async with self._uow() as uow:
                existing = await uow.users.get_by_email(email)
                if existing is not None:
                    locale = existing.mail_locale(cmd.locale)
                    uow.record(self._already_registered(email, locale))
                    await uow.commit()
                    return
                user = User.register(
                    user_id=new_id(),
                    email=email,
                    password_hash=password_hash,
                    display_name=display_name,
                    now=now,
                )
                await uow.users.add(user)
                uow.record(
                    SecurityEvent(
                        type="account.registered", user_id=user.id, details={"method": "password"}
                    )
                )
                if may_mail:  # else over the cap: the account exists, a resend mails the link
                    purpose, code = TokenPurpose.VERIFY_EMAIL, new_code()
                    ttl = self._links.ttl(purpose)
                    secret = await issue_token(uow, user, purpose, ttl, now, code=code)
                    uow.record(
                        self._links.token_mail(email.value, purpose, secret, cmd.locale, code)
                    )
                await uow.commit()
        except EmailAlreadyRegistered:
            # A concurrent registration won the race for this address; answer the same.
            log.info("registration lost a race for an address")

    def _already_registered(self, email: Email, locale: str) -> OutgoingMail:
        return self._links.notice(email.value, "already_registered", locale)
