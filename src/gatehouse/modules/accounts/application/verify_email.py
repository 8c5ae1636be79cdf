"""Confirm an email address with the single-use token from the verification mail, or with the
address and the six-digit code the mail carries beside the link (five wrong codes kill it)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.tokens import CODE_DIGITS, hash_code, hash_secret
from gatehouse.modules.accounts.application.views import UserView, UserViews, current_view
from gatehouse.modules.accounts.domain.errors import InvalidEmail, TokenInvalid
from gatehouse.modules.accounts.domain.model import Email, TokenPurpose, User
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.shared.clock import Clock

MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True, slots=True)
class VerifyEmail:
    token: str | None = None
    email: str | None = None  # with ``code``, instead of ``token``
    code: str | None = None


class VerifyEmailHandler:
    def __init__(
        self, *, uow: Callable[[], AccountsUnitOfWork], views: UserViews, clock: Clock
    ) -> None:
        self._uow = uow
        self._views = views
        self._clock = clock

    async def __call__(self, cmd: VerifyEmail) -> UserView:
        if cmd.token is None:
            return await self._by_code(cmd.email or "", cmd.code or "")
        if not cmd.token or len(cmd.token) > MAX_TOKEN_LENGTH:
            raise TokenInvalid
        now = self._clock.now()
        async with self._uow() as uow:
            token = await uow.tokens.get_by_hash(TokenPurpose.VERIFY_EMAIL, hash_secret(cmd.token))
            if token is None or not token.is_usable(now):
                raise TokenInvalid
            user = await uow.users.get(token.user_id, for_update=True)
            if user is None or not user.is_active:
                raise TokenInvalid
            token.consume(now)
            _verified(uow, user, now, "link")
            await uow.commit()
        return await current_view(self._views, user.id)

    async def _by_code(self, email: str, code: str) -> UserView:
        if not (code.isascii() and code.isdigit() and len(code) == CODE_DIGITS):
            raise TokenInvalid
        try:
            address = Email.parse(email)
        except InvalidEmail:
            raise TokenInvalid from None
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get_by_email(address)
            if user is None or not user.is_active:
                raise TokenInvalid
            token = await uow.tokens.newest_usable(user.id, TokenPurpose.VERIFY_EMAIL, now)
            if token is None or token.code_hash is None:
                raise TokenInvalid
            if not hmac.compare_digest(token.code_hash, hash_code(token.token_hash, code)):
                token.wrong_code(now)
                await uow.commit()
                raise TokenInvalid
            user = await uow.users.get(user.id, for_update=True)
            if user is None:
                raise TokenInvalid
            token.consume(now)
            _verified(uow, user, now, "code")
            await uow.commit()
        return await current_view(self._views, user.id)


def _verified(uow: AccountsUnitOfWork, user: User, now: datetime, method: str) -> None:
    """Mark the address verified; the audit event (and its webhook) only when it was not yet."""
    already = user.email_verified
    user.mark_email_verified(now)
    if not already:
        uow.record(
            SecurityEvent(
                type="account.email_verified", user_id=user.id, details={"method": method}
            )
        )
