"""The signed-in user's own profile."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork, UserViews
from gatehouse.modules.accounts.application.views import UserView
from gatehouse.modules.accounts.domain.errors import AccountGone
from gatehouse.modules.accounts.domain.model import DisplayName
from gatehouse.shared.clock import Clock


class GetProfileHandler:
    """Served from the read side: one primary-key read, no aggregate, no ORM session."""

    def __init__(self, views: UserViews) -> None:
        self._views = views

    async def __call__(self, user_id: uuid.UUID) -> UserView:
        view = await self._views.get(user_id)
        if view is None or not view.is_active:
            raise AccountGone
        return view


@dataclass(frozen=True, slots=True)
class UpdateProfile:
    user_id: uuid.UUID
    display_name: str | None


class UpdateProfileHandler:
    def __init__(self, uow: Callable[[], AccountsUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, cmd: UpdateProfile) -> UserView:
        display_name = DisplayName.parse(cmd.display_name)
        async with self._uow() as uow:
            user = await uow.users.get(cmd.user_id, for_update=True)
            if user is None or not user.is_active:
                raise AccountGone
            user.rename(display_name, self._clock.now())
            await uow.commit()
            return UserView.of(user)
