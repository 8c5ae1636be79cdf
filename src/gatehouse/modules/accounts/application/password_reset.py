"""Choose a new password with the single-use token from a reset mail.

In one transaction: the password changes, the token is spent, every other unused one-time
token of the account stops working (a pending verification or email change included), and
``PasswordChanged`` is recorded with a "password changed" notice. Auth's handler of that event
ends every session and writes the audit event in the same transaction, and denylists the
ended sessions' access tokens after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gatehouse.modules.accounts.application.mails import LinkSettings, password_changed_notice
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, PasswordHasher
from gatehouse.modules.accounts.application.tokens import hash_secret
from gatehouse.modules.accounts.domain.errors import TokenInvalid
from gatehouse.modules.accounts.domain.events import PasswordChanged
from gatehouse.modules.accounts.domain.model import Email, PasswordHash, TokenPurpose, User
from gatehouse.modules.accounts.domain.password_policy import PasswordPolicy
from gatehouse.shared.clock import Clock

MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True, slots=True)
class ResetPassword:
    token: str
    new_password: str
    ip: str | None = None
    user_agent: str | None = None
    locale: str = "en"


class PasswordSetter:
    """Setting a password, whichever way: the policy and the hash first, then in the caller's
    transaction the new hash, the ``PasswordChanged`` event (the sessions end with it) and the
    notice to the owner."""

    def __init__(
        self, *, hasher: PasswordHasher, policy: PasswordPolicy, links: LinkSettings
    ) -> None:
        self._hasher = hasher
        self._policy = policy
        self._links = links

    async def hash(self, password: str, email: Email) -> PasswordHash:
        """Checked against the policy (``WeakPassword`` on ``new_password``), then hashed off
        the event loop."""
        self._policy.check(password, email, field="new_password")
        return await self._hasher.hash(password)

    def set(
        self,
        uow: AccountsUnitOfWork,
        user: User,
        password_hash: PasswordHash,
        *,
        now: datetime,
        change: PasswordChanged,
        locale: str,
    ) -> None:
        user.change_password(password_hash, now)
        uow.record(change)
        uow.record(
            password_changed_notice(
                self._links, user, now, user.mail_locale(locale), everywhere=change.reset
            )
        )


class ResetPasswordHandler:
    def __init__(
        self, *, uow: Callable[[], AccountsUnitOfWork], setter: PasswordSetter, clock: Clock
    ) -> None:
        self._uow = uow
        self._setter = setter
        self._clock = clock

    async def __call__(self, cmd: ResetPassword) -> None:
        if not cmd.token or len(cmd.token) > MAX_TOKEN_LENGTH or not cmd.token.isascii():
            raise TokenInvalid
        token_hash = hash_secret(cmd.token)
        async with self._uow() as uow:  # check first: a weak password must not spend the token
            token = await uow.tokens.get_by_hash(TokenPurpose.RESET_PASSWORD, token_hash)
            user = None if token is None else await uow.users.get(token.user_id)
            if token is None or user is None or not token.is_usable(self._clock.now()):
                raise TokenInvalid
        password_hash = await self._setter.hash(cmd.new_password, user.email)
        async with self._uow() as uow:
            now = self._clock.now()
            token = await uow.tokens.get_by_hash(TokenPurpose.RESET_PASSWORD, token_hash)
            if token is None or not token.is_usable(now):  # spent meanwhile, by a racing reset
                raise TokenInvalid
            user = await uow.users.get(token.user_id, for_update=True)
            if user is None or not user.is_active:
                raise TokenInvalid
            token.consume(now)
            await uow.tokens.void_unused(user.id, None, now)
            user.mark_email_verified(now)  # the reset link reached this mailbox
            change = PasswordChanged(
                user_id=user.id, reset=True, ip=cmd.ip, user_agent=cmd.user_agent
            )
            self._setter.set(uow, user, password_hash, now=now, change=change, locale=cmd.locale)
            await uow.commit()
