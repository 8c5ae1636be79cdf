"""Choose a new password with the single-use token from a reset mail.

In one transaction: the password changes, the token is spent, every other unused one-time
token of the account stops working (a pending verification or email change included), every
session ends, an audit event and a "password changed" notice are written. After the commit the
ended sessions' access tokens are denylisted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gatehouse.modules.accounts.application.mails import LinkSettings, password_changed_notice
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, PasswordHasher
from gatehouse.modules.accounts.application.tokens import hash_secret
from gatehouse.modules.accounts.domain.errors import TokenInvalid
from gatehouse.modules.accounts.domain.model import PasswordHash, TokenPurpose, User
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

    async def _set_password(
        self,
        uow: AccountsUnitOfWork,
        user: User,
        password_hash: PasswordHash,
        now: datetime,
        change: PasswordChange,
    ) -> None:
        """The new password, the sessions it ends, its audit event and notice; commit, then
        denylist the ended sessions."""
        user.change_password(password_hash, now)
        ended = await uow.sessions.end_all(user.id, change.reason, keep=change.keep)
        await uow.audit.record(
            SecurityEvent(
                type=f"account.{change.reason}",
                user_id=user.id,
                session_id=change.keep,
                ip=change.ip,
                user_agent=change.user_agent,
                details={"sessions_ended": str(len(ended))},
            )
        )
        await uow.outbox.enqueue(
            password_changed_notice(
                self._links,
                user,
                now,
                user.mail_locale(change.locale),
                everywhere=change.keep is None,
            )
        )
        await uow.commit()
        await self._denylist.revoked(ended)


@dataclass(frozen=True, slots=True)
class PasswordChange:
    """Why and from where a password is set: ``password_reset`` or ``password_changed``."""

    reason: str
    keep: uuid.UUID | None  # the session that stays signed in, if any
    ip: str | None
    user_agent: str | None
    locale: str


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
            user.mark_email_verified(now)  # the reset link reached this mailbox
            change = PasswordChange("password_reset", None, cmd.ip, cmd.user_agent, cmd.locale)
            await self._set_password(uow, user, password_hash, now, change)
