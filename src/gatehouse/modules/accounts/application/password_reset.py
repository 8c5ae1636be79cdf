"""Choose a new password with the single-use token from a reset mail.

In one transaction: the password changes, the token is spent, every other unused one-time
token of the account stops working (a pending verification or email change included), every
session ends, an audit event and a "password changed" notice are written. After the commit the
ended sessions' access tokens are denylisted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.mails import LinkSettings, password_changed_notice
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, PasswordHasher
from gatehouse.modules.accounts.application.tokens import hash_secret
from gatehouse.modules.accounts.domain.errors import TokenInvalid
from gatehouse.modules.accounts.domain.model import TokenPurpose
from gatehouse.modules.accounts.domain.password_policy import PasswordPolicy
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.public import SessionDenylist
from gatehouse.shared.clock import Clock

MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True, slots=True)
class ResetPassword:
    token: str
    new_password: str
    ip: str | None = None
    user_agent: str | None = None
    locale: str = "en"


class PasswordHandler:
    """What setting a password needs: accounts, hashing, the policy, auth's denylist (sessions
    end with the change), time and the mails."""

    def __init__(
        self,
        *,
        uow: Callable[[], AccountsUnitOfWork],
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        denylist: SessionDenylist,
        clock: Clock,
        links: LinkSettings,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._denylist = denylist
        self._clock = clock
        self._links = links


class ResetPasswordHandler(PasswordHandler):
    async def __call__(self, cmd: ResetPassword) -> None:
        if not cmd.token or len(cmd.token) > MAX_TOKEN_LENGTH or not cmd.token.isascii():
            raise TokenInvalid
        token_hash = hash_secret(cmd.token)
        async with self._uow() as uow:  # check first: a weak password must not spend the token
            token = await uow.tokens.get_by_hash(TokenPurpose.RESET_PASSWORD, token_hash)
            user = None if token is None else await uow.users.get(token.user_id)
            if token is None or user is None or not token.is_usable(self._clock.now()):
                raise TokenInvalid
            self._policy.check(cmd.new_password, user.email)
        password_hash = await self._hasher.hash(cmd.new_password)
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
            user.change_password(password_hash, now)
            user.mark_email_verified(now)  # the reset link reached this mailbox
            ended = await uow.sessions.end_all(user.id, "password_reset")
            await uow.audit.record(
                SecurityEvent(
                    type="account.password_reset",
                    user_id=user.id,
                    ip=cmd.ip,
                    user_agent=cmd.user_agent,
                    details={"sessions_ended": str(len(ended))},
                )
            )
            await uow.outbox.enqueue(
                password_changed_notice(
                    self._links, user, now, user.mail_locale(cmd.locale), everywhere=True
                )
            )
            await uow.commit()
        await self._denylist.revoked(ended)
