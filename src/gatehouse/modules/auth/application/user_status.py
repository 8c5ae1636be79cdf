"""A user's status as an administrator sees it (``GET /admin/users/{id}``): the account from
accounts' facade (with its linked identities), and what auth knows of its sessions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.public import (
    AccountDirectory,
    AccountProfile,
    UserNotFound,
)
from gatehouse.modules.auth.application.ports import AuthUnitOfWork, SessionSummary
from gatehouse.shared.clock import Clock


@dataclass(frozen=True, slots=True)
class UserStatus:
    profile: AccountProfile
    sessions: SessionSummary


class GetUserStatusHandler:
    def __init__(
        self, *, accounts: AccountDirectory, uow: Callable[[], AuthUnitOfWork], clock: Clock
    ) -> None:
        self._accounts = accounts
        self._uow = uow
        self._clock = clock

    async def __call__(self, user_id: uuid.UUID) -> UserStatus:
        profile = await self._accounts.profile(user_id)
        if profile is None:
            raise UserNotFound
        async with self._uow() as uow:
            sessions = await uow.sessions.summary(user_id, self._clock.now())
        return UserStatus(profile, sessions)
