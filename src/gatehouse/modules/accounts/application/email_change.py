"""Change the sign-in address: request it (password), then confirm it from the new mailbox.

The old address stays in use until the confirmation; it gets a notice when the change is asked
for and another when it is done. A password reset voids a pending change (it voids every mailed
link of the account). The request answers the same whether or not the new address is taken: a
taken one just gets no confirmation mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.mails import LinkSettings, issue_token
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.reauth import check_proof
from gatehouse.modules.accounts.application.tokens import hash_secret
from gatehouse.modules.accounts.application.views import UserView, UserViews, current_view
from gatehouse.modules.accounts.domain.errors import (
    EmailAlreadyRegistered,
    EmailUnchanged,
    ReauthFailed,
    TokenInvalid,
)
from gatehouse.modules.accounts.domain.model import Email, TokenPurpose
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.notifications.application.public import MailCaps, MailPurpose
from gatehouse.shared.clock import Clock
from gatehouse.shared.step_up import StepUpProof

MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True, slots=True)
class RequestEmailChange:
    user_id: uuid.UUID
    new_email: str
    proof: StepUpProof
    locale: str = "en"


@dataclass(frozen=True, slots=True)
class ConfirmEmailChange:
    token: str
    user_id: uuid.UUID | None = None  # signed in: the token must be this user's
    locale: str = "en"


class RequestEmailChangeHandler:
    def __init__(
        self,
        *,
        uow: Callable[[], AccountsUnitOfWork],
        caps: MailCaps,
        clock: Clock,
        links: LinkSettings,
    ) -> None:
        self._uow = uow
        self._caps = caps
        self._clock = clock
        self._links = links

    async def __call__(self, cmd: RequestEmailChange) -> None:
        new_email = Email.parse(cmd.new_email)
        check_proof(cmd.proof, cmd.user_id)
        async with self._uow() as uow:
            now = self._clock.now()
            user = await uow.users.get(cmd.user_id, for_update=True)
            if user is None:
                raise ReauthFailed
            if new_email == user.email:
                raise EmailUnchanged
            # A taken address, or one over its mail cap, gets no mail; the answer is the same.
            free = await uow.users.get_by_email(new_email) is None
            if free and await self._caps.allow(new_email.value, MailPurpose.EMAIL_CHANGE):
                purpose = TokenPurpose.CHANGE_EMAIL
                secret = await issue_token(
                    uow, user, purpose, self._links.ttl(purpose), now, new_email=new_email
                )
                uow.record(
                    self._links.token_mail(
                        new_email.value, purpose, secret, user.mail_locale(cmd.locale)
                    )
                )
            uow.record(
                self._links.notice(
                    user.email.value,
                    "email_change_requested",
                    user.mail_locale(cmd.locale),
                    new_email=new_email.value,
                )
            )
            uow.record(SecurityEvent(type="account.email_change_requested", user_id=user.id))
            await uow.commit()


class ConfirmEmailChangeHandler:
    def __init__(
        self,
        *,
        uow: Callable[[], AccountsUnitOfWork],
        views: UserViews,
        clock: Clock,
        links: LinkSettings,
    ) -> None:
        self._uow = uow
        self._views = views
        self._clock = clock
        self._links = links

    async def __call__(self, cmd: ConfirmEmailChange) -> UserView:
        if not cmd.token or len(cmd.token) > MAX_TOKEN_LENGTH or not cmd.token.isascii():
            raise TokenInvalid
        try:
            async with self._uow() as uow:
                now = self._clock.now()
                token = await uow.tokens.get_by_hash(
                    TokenPurpose.CHANGE_EMAIL, hash_secret(cmd.token)
                )
                if (
                    token is None
                    or token.new_email is None
                    or not token.is_usable(now)
                    or cmd.user_id not in (None, token.user_id)
                ):
                    raise TokenInvalid
                user = await uow.users.get(token.user_id, for_update=True)
                if user is None or not user.is_active:
                    raise TokenInvalid
                old = user.email
                token.consume(now)
                user.change_email(token.new_email, now)
                uow.record(SecurityEvent(type="account.email_changed", user_id=user.id))
                uow.record(
                    self._links.notice(
                        old.value,
                        "email_changed",
                        user.mail_locale(cmd.locale),
                        new_email=user.email.value,
                    )
                )
                await uow.commit()
        except EmailAlreadyRegistered:  # the address was taken since the request
            raise TokenInvalid from None
        return await current_view(self._views, user.id)
