"""One suite for the AccountsUnitOfWork port, run against the fake and the real adapter.

The unit tests trust ``InMemoryAccountsUnitOfWork``; this suite keeps that trust earned: every
behaviour the use cases rely on must hold for both, or the fake is lying.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.domain.errors import EmailAlreadyRegistered
from gatehouse.modules.accounts.domain.model import DisplayName, TokenPurpose, User
from tests.support.builders import T0, a_token, a_user, unique_email
from tests.support.fakes import InMemoryAccountsUnitOfWork
from tests.support.uow import accounts_uow

UowFactory = Callable[[], AccountsUnitOfWork]


async def register(uow: UowFactory, user: User) -> None:
    async with uow() as tx:
        await tx.users.add(user)
        await tx.commit()


@pytest.fixture(params=["in_memory", "sqlalchemy"])
def uow(request: pytest.FixtureRequest) -> UowFactory:
    if request.param == "in_memory":
        return InMemoryAccountsUnitOfWork()  # calling it returns itself, like a factory
    factory: async_sessionmaker[AsyncSession] = request.getfixturevalue("tx_session_factory")
    return accounts_uow(factory)


async def test_a_committed_user_is_found_by_id_and_by_email(uow: UowFactory) -> None:
    user = a_user()
    async with uow() as tx:
        await tx.users.add(user)
        await tx.commit()

    async with uow() as tx:
        by_id = await tx.users.get(user.id)
        by_email = await tx.users.get_by_email(user.email)
        assert by_id is not None
        assert by_email is not None
        assert (by_id.id, by_id.email, by_id.display_name) == (
            user.id,
            user.email,
            user.display_name,
        )
        assert by_email.id == user.id


async def test_nothing_is_kept_without_commit(uow: UowFactory) -> None:
    user = a_user()
    async with uow() as tx:
        await tx.users.add(user)
        assert await tx.users.get(user.id) is not None  # visible inside its own unit of work

    async with uow() as tx:
        assert await tx.users.get(user.id) is None
        assert await tx.users.get_by_email(user.email) is None


async def test_a_taken_email_raises_email_already_registered(uow: UowFactory) -> None:
    email = unique_email("contract")
    async with uow() as tx:
        await tx.users.add(a_user(email))
        await tx.commit()

    with pytest.raises(EmailAlreadyRegistered):
        await register(uow, a_user(email))


async def test_changes_to_a_loaded_user_are_kept_only_on_commit(uow: UowFactory) -> None:
    user = a_user(display_name="Before")
    async with uow() as tx:
        await tx.users.add(user)
        await tx.commit()

    async with uow() as tx:
        loaded = await tx.users.get(user.id, for_update=True)
        assert loaded is not None
        loaded.rename(DisplayName("Abandoned"), T0 + timedelta(minutes=1))
        # no commit

    async with uow() as tx:
        loaded = await tx.users.get(user.id, for_update=True)
        assert loaded is not None
        assert loaded.display_name == DisplayName("Before")
        loaded.rename(DisplayName("After"), T0 + timedelta(minutes=2))
        loaded.mark_email_verified(T0 + timedelta(minutes=2))
        await tx.commit()

    async with uow() as tx:
        reloaded = await tx.users.get(user.id)
        assert reloaded is not None
        assert reloaded.display_name == DisplayName("After")
        assert reloaded.email_verified


async def test_a_new_token_voids_the_older_unused_one_and_is_found_by_hash(
    uow: UowFactory,
) -> None:
    user = a_user()
    older, older_hash = a_token(user.id, now=T0)
    newer, newer_hash = a_token(user.id, now=T0 + timedelta(minutes=1))
    async with uow() as tx:
        await tx.users.add(user)
        await tx.tokens.add(older)
        await tx.commit()
    async with uow() as tx:
        await tx.tokens.add(newer)
        await tx.commit()

    async with uow() as tx:
        old = await tx.tokens.get_by_hash(TokenPurpose.VERIFY_EMAIL, older_hash)
        new = await tx.tokens.get_by_hash(TokenPurpose.VERIFY_EMAIL, newer_hash)
        unknown = await tx.tokens.get_by_hash(TokenPurpose.VERIFY_EMAIL, b"\1" * 32)
        assert old is not None
        assert old.used_at == newer.created_at
        assert new is not None
        assert new.is_usable(T0 + timedelta(minutes=2))
        assert unknown is None


async def test_a_consumed_token_is_kept_consumed_on_commit(uow: UowFactory) -> None:
    user = a_user()
    token, token_hash = a_token(user.id)
    async with uow() as tx:
        await tx.users.add(user)
        await tx.tokens.add(token)
        await tx.commit()

    async with uow() as tx:
        found = await tx.tokens.get_by_hash(TokenPurpose.VERIFY_EMAIL, token_hash)
        assert found is not None
        found.consume(T0 + timedelta(minutes=3))
        await tx.commit()

    async with uow() as tx:
        again = await tx.tokens.get_by_hash(TokenPurpose.VERIFY_EMAIL, token_hash)
        assert again is not None
        assert not again.is_usable(T0 + timedelta(minutes=4))


async def test_a_user_read_in_a_unit_of_work_is_usable_after_it(uow: UowFactory) -> None:
    """AccountsDirectory.authenticate and .get read a user, then use it after the block."""
    user = a_user()
    async with uow() as tx:
        await tx.users.add(user)
        await tx.commit()

    async with uow() as tx:
        loaded = await tx.users.get_by_email(user.email)

    assert loaded is not None
    assert loaded.email == user.email


async def test_add_unregistered_adds_only_the_new_addresses_and_names_them(
    uow: UowFactory,
) -> None:
    taken = a_user()
    await register(uow, taken)
    fresh = a_user(display_name=None, password_hash=None)
    fresh.roles = ("user", "admin")
    fresh.email_verified_at = T0
    again = a_user(taken.email)
    async with uow() as tx:
        added = await tx.users.add_unregistered([fresh, again])
        assert added == frozenset({fresh.email})
        assert await tx.users.add_unregistered([]) == frozenset()
        await tx.commit()

    async with uow() as tx:
        stored = await tx.users.get_by_email(fresh.email)
        assert stored is not None
        assert (stored.id, stored.roles, stored.password_hash, stored.display_name) == (
            fresh.id,
            ("user", "admin"),
            None,
            None,
        )
        assert stored.email_verified_at == T0
        kept = await tx.users.get_by_email(taken.email)
        assert kept is not None
        assert kept.id == taken.id
