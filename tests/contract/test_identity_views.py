"""One suite for the IdentityViews port (``GET /me/identities``'s read side), run against the
fake and the real one: the user's committed identities, newest first, a page at a time
(``limit``, and ``before`` an id), nobody else's.

The real side commits for real (its pool sees committed rows only) with unique keys, and deletes
its users afterwards (their identities go with them).
"""

from __future__ import annotations

import secrets
from typing import Protocol

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.adapters.views import AsyncpgIdentityViews
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.views import IdentityView, IdentityViews
from gatehouse.modules.accounts.domain.identity import Identity
from gatehouse.modules.accounts.domain.model import User
from gatehouse.shared.ids import new_id
from tests.contract.conftest import CommittedUsers
from tests.support.builders import T0, a_user
from tests.support.fakes import InMemoryAccountsUnitOfWork, InMemoryIdentityViews
from tests.support.uow import accounts_uow


class Side(Protocol):
    @property
    def views(self) -> IdentityViews: ...

    def uow(self) -> AccountsUnitOfWork: ...

    def added(self, user: User) -> None: ...


class InMemorySide:
    def __init__(self) -> None:
        self._uow = InMemoryAccountsUnitOfWork()
        self.views = InMemoryIdentityViews(self._uow)

    def uow(self) -> AccountsUnitOfWork:
        return self._uow()

    def added(self, user: User) -> None:
        return None


class AsyncpgSide:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], committed: CommittedUsers
    ) -> None:
        self._uow = accounts_uow(session_factory)
        self.views = AsyncpgIdentityViews(committed.pool)
        self.ids = committed.ids

    def uow(self) -> AccountsUnitOfWork:
        return self._uow()

    def added(self, user: User) -> None:
        self.ids.append(user.id)


@pytest.fixture(params=["in_memory", "asyncpg"])
def side(request: pytest.FixtureRequest) -> Side:
    if request.param == "in_memory":
        return InMemorySide()
    committed: CommittedUsers = request.getfixturevalue("committed_users")
    factory: async_sessionmaker[AsyncSession] = request.getfixturevalue("session_factory")
    return AsyncpgSide(factory, committed)


async def a_user_with(side: Side, *providers: str, email: str | None = None) -> list[Identity]:
    """A committed user with one identity per provider, oldest first."""
    user = a_user()
    side.added(user)
    identities = [
        Identity.link(
            identity_id=new_id(),
            user_id=user.id,
            provider=provider,
            issuer="https://issuer.example.com",
            subject=secrets.token_hex(8),
            email=email,
            now=T0,
            signed_in=provider != "settings-linked",
        )
        for provider in providers
    ]
    async with side.uow() as tx:
        await tx.users.add(user)
        for identity in identities:
            await tx.identities.add(identity)
        await tx.commit()
    return identities


def view(identity: Identity) -> IdentityView:
    return IdentityView(
        identity.id, identity.provider, identity.email, identity.created_at, identity.last_used_at
    )


async def test_a_users_identities_are_listed_newest_first_with_exactly_their_fields(
    side: Side,
) -> None:
    first, second = await a_user_with(side, "google", "settings-linked", email="ada@example.com")
    await a_user_with(side, "google")  # somebody else's

    listed = await side.views.of_user(first.user_id, limit=10, before=None)

    assert listed == [view(second), view(first)]
    assert listed[0].last_used_at is None
    assert listed[1].last_used_at == T0


async def test_a_page_stops_at_the_limit_and_continues_before_an_id(side: Side) -> None:
    a, b, c = await a_user_with(side, "a", "b", "c")

    assert [v.id for v in await side.views.of_user(a.user_id, limit=2, before=None)] == [
        c.id,
        b.id,
    ]
    assert [v.id for v in await side.views.of_user(a.user_id, limit=2, before=b.id)] == [a.id]


async def test_a_user_without_identities_has_an_empty_list(side: Side) -> None:
    user = a_user()
    side.added(user)
    async with side.uow() as tx:
        await tx.users.add(user)
        await tx.commit()

    assert await side.views.of_user(user.id, limit=20, before=None) == []
