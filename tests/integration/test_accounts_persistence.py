"""Accounts repositories through SqlAlchemyAccountsUnitOfWork, on a real PostgreSQL.

Each test runs inside an outer transaction that is rolled back (``tx_session_factory``): a unit
of work's commit releases a savepoint, a new unit of work opens a new session and so reads the
rows back from the database, not from an identity map. Behaviour the fake must share (commit,
rollback, the unique email, token voiding) is in tests/contract, which runs against both.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from gatehouse.modules.accounts.adapters.orm import user_table
from gatehouse.modules.accounts.adapters.repositories import (
    SqlAlchemyAccountsUnitOfWork,
    SqlAlchemyUserRepository,
)
from gatehouse.modules.accounts.domain.model import (
    DisplayName,
    Email,
    PasswordHash,
    TokenPurpose,
    User,
)
from gatehouse.shared.db_outage import DatabaseUnavailable
from gatehouse.shared.errors import Unavailable
from tests.support.builders import T0, a_token, a_user, unique_email
from tests.support.uow import accounts_uow

UowFactory = Callable[[], SqlAlchemyAccountsUnitOfWork]


async def register(uow: UowFactory, user: User) -> None:
    async with uow() as tx:
        await tx.users.add(user)
        await tx.commit()


@pytest.fixture
def uow(tx_session_factory: async_sessionmaker[AsyncSession]) -> UowFactory:
    return accounts_uow(tx_session_factory)


async def test_user_round_trips_with_its_value_objects(uow: UowFactory) -> None:
    user = a_user(unique_email("round-trip"), display_name="Ada Lovelace")
    async with uow() as tx:
        await tx.users.add(user)
        await tx.commit()

    async with uow() as tx:
        by_id = await tx.users.get(user.id)
        by_email = await tx.users.get_by_email(user.email)

        assert by_id is not None
        assert by_id is not user  # read back from the database, not the first session
        assert by_email is by_id
        assert isinstance(by_id.email, Email)
        assert by_id.email == user.email
        assert by_id.display_name == DisplayName("Ada Lovelace")
        assert by_id.password_hash == PasswordHash("gh1$1$not-a-real-hash")
        assert by_id.roles == ("user",)
        assert by_id.is_active is True
        assert by_id.email_verified_at is None
        assert by_id.created_at == T0
        assert by_id.created_at.utcoffset() == timedelta(0)


async def test_a_user_without_name_or_password_keeps_them_empty(uow: UowFactory) -> None:
    user = a_user(display_name=None, password_hash=None)
    async with uow() as tx:
        await tx.users.add(user)
        await tx.commit()

    async with uow() as tx:
        loaded = await tx.users.get(user.id)
        assert loaded is not None
        assert loaded.display_name is None
        assert loaded.password_hash is None


async def test_unknown_user_is_none_by_id_and_by_email(uow: UowFactory) -> None:
    async with uow() as tx:
        assert await tx.users.get(a_user().id) is None
        assert await tx.users.get_by_email(unique_email("nobody")) is None


async def test_an_error_inside_a_unit_of_work_rolls_it_back(uow: UowFactory) -> None:
    user = a_user()

    class Boom(Exception):
        pass

    async def add_then_fail() -> None:
        async with uow() as tx:
            await tx.users.add(user)
            raise Boom

    with pytest.raises(Boom):
        await add_then_fail()

    async with uow() as tx:
        assert await tx.users.get(user.id) is None


async def test_one_time_token_is_found_by_its_hash_and_purpose(uow: UowFactory) -> None:
    user = a_user()
    token, token_hash = a_token(user.id)
    async with uow() as tx:
        await tx.users.add(user)
        await tx.tokens.add(token)
        await tx.commit()

    async with uow() as tx:
        found = await tx.tokens.get_by_hash(TokenPurpose.VERIFY_EMAIL, token_hash)
        missing = await tx.tokens.get_by_hash(TokenPurpose.VERIFY_EMAIL, b"\0" * 32)

        assert found is not None
        assert found.id == token.id
        assert found.user_id == user.id
        assert found.purpose is TokenPurpose.VERIFY_EMAIL
        assert found.expires_at == token.expires_at
        assert found.is_usable(T0 + timedelta(hours=1))
        assert missing is None


async def test_void_unused_spends_every_open_token_of_the_user_only(uow: UowFactory) -> None:
    user, other = a_user(), a_user()
    mine, mine_hash = a_token(user.id)
    theirs, theirs_hash = a_token(other.id)
    voided_at = T0 + timedelta(minutes=1)
    async with uow() as tx:
        await tx.users.add(user)
        await tx.users.add(other)
        await tx.tokens.add(mine)
        await tx.tokens.add(theirs)
        await tx.commit()
    async with uow() as tx:
        await tx.tokens.void_unused(user.id, TokenPurpose.VERIFY_EMAIL, voided_at)
        await tx.commit()

    async with uow() as tx:
        spent = await tx.tokens.get_by_hash(TokenPurpose.VERIFY_EMAIL, mine_hash)
        untouched = await tx.tokens.get_by_hash(TokenPurpose.VERIFY_EMAIL, theirs_hash)

        assert spent is not None
        assert spent.used_at == voided_at
        assert untouched is not None
        assert untouched.used_at is None


async def test_the_user_repository_on_an_isolated_session_leaves_no_rows_behind(
    db_session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The ``db_session`` contract other suites rely on: its 'commits' stay inside the test."""
    users = SqlAlchemyUserRepository(db_session)
    user = a_user(unique_email("invisible"))
    await users.add(user)
    await db_session.commit()  # releases a savepoint; the outer transaction stays open
    found = await users.get_by_email(user.email)
    assert found is not None
    assert found.id == user.id

    async with session_factory() as outside:  # another connection sees committed data only
        count = await outside.scalar(
            select(func.count()).select_from(user_table).where(user_table.c.id == user.id)
        )
    assert count == 0


@pytest.mark.parametrize("by", ["id", "email"])
async def test_a_locking_read_sees_what_another_transaction_committed_since_the_first_read(
    session_factory: async_sessionmaker[AsyncSession], by: str
) -> None:
    """The identity map must not hand back the row as first read: the lock is taken to act on
    the current row (a concurrent change of name, password or role)."""
    user = a_user(unique_email("relock"), display_name="Before")
    committed = accounts_uow(session_factory)
    await register(committed, user)
    try:
        async with committed() as tx:
            first = await tx.users.get(user.id)
            assert first is not None
            assert first.display_name == DisplayName("Before")
            async with session_factory() as other:
                await other.execute(
                    update(user_table)
                    .where(user_table.c.id == user.id)
                    .values(display_name=DisplayName("After"))
                )
                await other.commit()

            if by == "id":
                locked = await tx.users.get(user.id, for_update=True)
            else:
                locked = await tx.users.get_by_email(user.email, for_update=True)

            assert locked is first  # the same object, refreshed
            assert locked.display_name == DisplayName("After")
    finally:
        async with session_factory() as cleanup:
            await cleanup.execute(delete(user_table).where(user_table.c.id == user.id))
            await cleanup.commit()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.timeout(15)
async def test_a_unit_of_work_on_an_unreachable_database_raises_database_unavailable(
    closed_port: int,
) -> None:
    engine = create_async_engine(
        f"postgresql+asyncpg://gatehouse@127.0.0.1:{closed_port}/gatehouse",
        connect_args={"timeout": 2},
    )
    factory = async_sessionmaker(engine, expire_on_commit=False)
    try:
        with pytest.raises(DatabaseUnavailable) as raised:
            async with accounts_uow(factory)() as tx:
                await tx.users.get_by_email(unique_email())
    finally:
        await engine.dispose()

    assert isinstance(raised.value, Unavailable)
    assert raised.value.code == "database_unavailable"
