"""Mail requests that must not reveal whether an address has an account: resend the
verification mail, send a password-reset link.

The endpoint queues a request (one outbox row) for any well-formed address, after the
per-address cap; ``AccountMailResolver`` turns it into the real mail when the dispatcher sends
it, or into nothing for an address without an account. Known and unknown addresses therefore
cost the request exactly the same: one capped counter and one queued row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from gatehouse.modules.accounts.application.mails import LinkSettings, issue_token
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.tokens import new_code
from gatehouse.modules.accounts.domain.model import Email, TokenPurpose
from gatehouse.modules.notifications.application.public import (
    MailCaps,
    MailPurpose,
    MailResolver,
    OutgoingMail,
)
from gatehouse.shared.clock import Clock


class MailRequestKind(StrEnum):
    """Outbox template names of the requests; the resolver registers for these."""

    RESEND_VERIFICATION = "accounts.resend_verification"
    PASSWORD_RESET = "accounts.password_reset"  # noqa: S105 - a name, not a secret


_PURPOSE = {
    MailRequestKind.RESEND_VERIFICATION: TokenPurpose.VERIFY_EMAIL,
    MailRequestKind.PASSWORD_RESET: TokenPurpose.RESET_PASSWORD,
}
_BUDGET = {
    MailRequestKind.RESEND_VERIFICATION: MailPurpose.VERIFICATION,
    MailRequestKind.PASSWORD_RESET: MailPurpose.PASSWORD_RESET,
}


@dataclass(frozen=True, slots=True)
class RequestMail:
    kind: MailRequestKind
    email: str
    locale: str = "en"


class RequestMailHandler:
    def __init__(self, uow: Callable[[], AccountsUnitOfWork], caps: MailCaps) -> None:
        self._uow = uow
        self._caps = caps

    async def __call__(self, cmd: RequestMail) -> None:
        email = Email.parse(cmd.email)  # a malformed address is 422, known or not
        if not await self._caps.allow(email.value, _BUDGET[cmd.kind]):
            return
        async with self._uow() as uow:
            uow.record(OutgoingMail(email.value, cmd.kind.value, {}, cmd.locale))
            await uow.commit()


class AccountMailResolver(MailResolver):
    """At dispatch time: the mail for an account that can use it, else nothing."""

    def __init__(
        self, uow: Callable[[], AccountsUnitOfWork], clock: Clock, links: LinkSettings
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._links = links

    async def resolve(self, request: OutgoingMail) -> OutgoingMail | None:
        purpose = _PURPOSE[MailRequestKind(request.template)]
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get_by_email(Email.parse(request.to))
            if user is None or not user.is_active:
                return None
            if purpose is TokenPurpose.VERIFY_EMAIL and user.email_verified:
                return None
            code = new_code() if purpose is TokenPurpose.VERIFY_EMAIL else None
            ttl = self._links.ttl(purpose)
            secret = await issue_token(uow, user, purpose, ttl, now, code=code)
            await uow.commit()
        locale = user.mail_locale(request.locale)
        return self._links.token_mail(user.email.value, purpose, secret, locale, code or "")
