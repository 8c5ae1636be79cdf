"""The signed-in user's own profile."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.views import UserView, UserViews, current_view
from gatehouse.modules.accounts.domain.errors import AccountGone, UnsupportedLocale
from gatehouse.modules.accounts.domain.model import DisplayName
from gatehouse.shared.clock import Clock


@dataclass(frozen=True, slots=True)
class GetProfile:
    user_id: uuid.UUID


class GetProfileHandler:
    """Served from the read side: one primary-key read, no aggregate, no ORM session."""

    def __init__(self, views: UserViews) -> None:
        self._views = views

    async def __call__(self, query: GetProfile) -> UserView:
        view = await self._views.get(query.user_id)
        if view is None or not view.is_active:
            raise AccountGone
        return view


class Keep(Enum):
    """A field the update leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class UpdateProfile:
    user_id: uuid.UUID
    display_name: str | Keep | None = KEEP  # None removes the name
    locale: str | Keep | None = KEEP  # None: mails follow each request's Accept-Language


class UpdateProfileHandler:
    def __init__(
        self,
        *,
        uow: Callable[[], AccountsUnitOfWork],
        views: UserViews,
        clock: Clock,
        locales: Sequence[str],
    ) -> None:
        self._uow = uow
        self._views = views
        self._clock = clock
        self._locales = tuple(locales)

    async def __call__(self, cmd: UpdateProfile) -> UserView:
        name = cmd.display_name
        display_name = name if isinstance(name, Keep) else DisplayName.parse(name)
        if isinstance(cmd.locale, str) and cmd.locale not in self._locales:
            raise UnsupportedLocale(f"supported: {', '.join(self._locales)}")
        async with self._uow() as uow:
            user = await uow.users.get(cmd.user_id, for_update=True)
            if user is None or not user.is_active:
                raise AccountGone
            now = self._clock.now()
            if not isinstance(display_name, Keep):
                user.rename(display_name, now)
            if not isinstance(cmd.locale, Keep):
                user.prefer_locale(cmd.locale, now)
            await uow.commit()
        return await current_view(self._views, cmd.user_id)
