"""Find a user by email address, as the operator's command line names them
(``gatehouse users show|disable|enable|revoke-sessions EMAIL``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.views import UserView, UserViews
from gatehouse.modules.accounts.domain.errors import UserNotFound
from gatehouse.modules.accounts.domain.model import Email


@dataclass(frozen=True, slots=True)
class FindUser:
    email: str  # as typed: normalised like every lookup (trim, NFKC, lower-case)


class FindUserHandler:
    def __init__(self, *, uow: Callable[[], AccountsUnitOfWork], views: UserViews) -> None:
        self._uow = uow
        self._views = views

    async def __call__(self, query: FindUser) -> UserView:
        """Raises ``InvalidEmail`` for something that is not an address, ``UserNotFound``
        for an address no account has."""
        email = Email.parse(query.email)
        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
            user_id = None if user is None else user.id
        view = None if user_id is None else await self._views.get(user_id)
        if view is None:
            raise UserNotFound(f"no user has the address {email.value}")
        return view
