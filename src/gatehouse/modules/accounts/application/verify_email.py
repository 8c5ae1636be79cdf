"""Confirm an email address with the single-use token from the verification mail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.tokens import hash_secret
from gatehouse.modules.accounts.application.views import UserView
from gatehouse.modules.accounts.domain.errors import TokenInvalid
from gatehouse.modules.accounts.domain.model import TokenPurpose
from gatehouse.shared.clock import Clock

MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True, slots=True)
class VerifyEmail:
    token: str


class VerifyEmailHandler:
    def __init__(self, uow: Callable[[], AccountsUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, cmd: VerifyEmail) -> UserView:
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
            user.mark_email_verified(now)
            await uow.commit()
            return UserView.of(user)
