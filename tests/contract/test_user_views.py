"""One suite for the UserViews port (accounts' read side), run against the fake and the real one.

The port's promise: ``get`` shows a user as last committed, every field the way the unit of work
holds it, and ``None`` for an id nobody committed. ``InMemoryUserViews`` reads a fake unit of
work's committed users; ``AsyncpgUserViews`` reads ``accounts_user`` through its own pool.

Each side gives the tests a probe: ``uow()`` opens its accounts unit of work, ``views`` reads.
The real side commits for real (its pool sees committed rows only), with unique addresses, and
deletes its users afterwards.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Protocol

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.adapters.views import AsyncpgUserViews
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.views import UserView, UserViews
from gatehouse.modules.accounts.domain.model import DisplayName, MfaSummary, Role, User
from tests.contract.conftest import CommittedUsers
from tests.support.builders import T0, a_user
from tests.support.fakes import InMemoryAccountsUnitOfWork, InMemoryUserViews
from tests.support.uow import accounts_uow

LATER = T0 + timedelta(minutes=5)


class Side(Protocol):
    @property
    def views(self) -> UserViews: ...

    def uow(self) -> AccountsUnitOfWork: ...

    def added(self, user: User) -> None:
        """Remember a user this test commits (the real side deletes them afterwards)."""
        ...


class InMemorySide:
    def __init__(self) -> None:
        self._uow = InMemoryAccountsUnitOfWork()
        self.views = InMemoryUserViews(self._uow)

    def uow(self) -> AccountsUnitOfWork:
        return self._uow()

    def added(self, user: User) -> None:
        return None


class AsyncpgSide:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], committed: CommittedUsers
    ) -> None:
        self._uow = accounts_uow(session_factory)
        self.views = AsyncpgUserViews(committed.pool)
        self.ids = committed.ids

    def uow(self) -> AccountsUnitOfWork:
        return self._uow()

    def added(self, user: User) -> None:
        self.ids.append(user.id)


@pytest.fixture
def asyncpg_side(
    session_factory: async_sessionmaker[AsyncSession], committed_users: CommittedUsers
) -> AsyncpgSide:
    return AsyncpgSide(session_factory, committed_users)


@pytest.fixture(params=["in_memory", "asyncpg"])
def side(request: pytest.FixtureRequest) -> Side:
    if request.param == "in_memory":
        return InMemorySide()
    real: AsyncpgSide = request.getfixturevalue("asyncpg_side")
    return real


async def commit(side: Side, user: User) -> None:
    side.added(user)
    async with side.uow() as tx:
        await tx.users.add(user)
        await tx.commit()


async def test_a_new_user_is_viewed_with_the_defaults(side: Side) -> None:
    user = a_user(display_name=None)
    await commit(side, user)

    assert await side.views.get(user.id) == UserView(
        id=user.id,
        email=user.email.value,
        email_verified=False,
        display_name=None,
        roles=("user",),
        is_active=True,
        created_at=T0,
        locale=None,
        mfa=MfaSummary(totp=False, email=False, backup_codes_remaining=0),
    )


async def test_a_user_is_viewed_with_exactly_the_committed_fields(side: Side) -> None:
    user = a_user(display_name="Zoë Ångström 🗝")
    user.mark_email_verified(T0)
    user.grant_role(Role.ADMIN, T0)
    user.prefer_locale("de", T0)
    user.mfa = MfaSummary(totp=True, email=True, backup_codes_remaining=7)
    user.is_active = False
    await commit(side, user)

    assert await side.views.get(user.id) == UserView(
        id=user.id,
        email=user.email.value,
        email_verified=True,
        display_name="Zoë Ångström 🗝",
        roles=("user", "admin"),
        is_active=False,
        created_at=T0,
        locale="de",
        mfa=MfaSummary(totp=True, email=True, backup_codes_remaining=7),
    )


async def test_an_unknown_id_is_none(side: Side) -> None:
    await commit(side, a_user())

    assert await side.views.get(uuid.uuid4()) is None


async def test_a_user_is_viewed_only_once_committed(side: Side) -> None:
    user = a_user()
    side.added(user)
    async with side.uow() as tx:
        await tx.users.add(user)
        assert await side.views.get(user.id) is None  # not while its transaction is open
        # no commit

    assert await side.views.get(user.id) is None


async def test_a_committed_change_is_viewed_and_an_abandoned_one_is_not(side: Side) -> None:
    user = a_user(display_name="Before")
    await commit(side, user)

    async with side.uow() as tx:
        loaded = await tx.users.get(user.id, for_update=True)
        assert loaded is not None
        loaded.rename(DisplayName("After"), LATER)
        loaded.mark_email_verified(LATER)
        loaded.is_active = False
        await tx.commit()
    async with side.uow() as tx:
        loaded = await tx.users.get(user.id, for_update=True)
        assert loaded is not None
        loaded.rename(DisplayName("Abandoned"), LATER)
        # no commit

    view = await side.views.get(user.id)
    assert view is not None
    assert (view.display_name, view.email_verified, view.is_active, view.created_at) == (
        "After",
        True,
        False,
        T0,
    )
