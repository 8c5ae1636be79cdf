"""One suite for the AccountDirectory port (accounts' facade for auth), run against the fake and
the real one.

The auth use-case tests sign in through ``FakeAccountDirectory``; this suite holds it to what
``AccountsDirectory`` does over the real accounts unit of work, the asyncpg read side and bcrypt:
the right password gives the account's snapshot, anything else ``InvalidCredentials`` (or
``ReauthFailed`` for a step-up), and a disabled account signs in no more while ``get`` still
shows it, disabled.

Each side gives the tests a probe: ``an_account`` commits one account and returns its id,
``disable`` commits its deactivation, ``directory`` is the facade. The fake holds a single
account, so each test makes one.

Not in the contract: the real one's ``EmailNotVerified`` when verification is required (the
fake never requires it; the real side here is built with ``require_verified_email=False``, the
setting the fake models), social-only accounts (no password), and upgrading an outdated hash.

The real side commits for real (the read side reads committed rows through its own pool), with
unique addresses, and deletes its accounts afterwards.
"""

from __future__ import annotations

import uuid
from typing import Protocol

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.adapters.password_hasher import BcryptPasswordHasher
from gatehouse.modules.accounts.adapters.views import AsyncpgIdentityViews, AsyncpgUserViews
from gatehouse.modules.accounts.application.directory import AccountsDirectory
from gatehouse.modules.accounts.application.public import (
    AccountDirectory,
    AccountSnapshot,
    InvalidCredentials,
    ReauthFailed,
)
from gatehouse.modules.accounts.domain.model import Email, MfaSummary
from tests.contract.conftest import CommittedUsers
from tests.support.builders import T0, a_user, unique_email
from tests.support.clock import FixedClock
from tests.support.fakes import FakeAccountDirectory
from tests.support.uow import accounts_uow

PASSWORD = "correct horse battery staple"


class Side(Protocol):
    @property
    def directory(self) -> AccountDirectory: ...

    async def an_account(
        self,
        email: str,
        password: str,
        *,
        roles: tuple[str, ...] = ("user",),
        verified: bool = True,
    ) -> uuid.UUID:
        """Commit an account; its id."""
        ...

    async def disable(self, user_id: uuid.UUID) -> None:
        """Commit the account's deactivation."""
        ...


class FakeSide:
    def __init__(self) -> None:
        self._directory: FakeAccountDirectory | None = None

    @property
    def directory(self) -> AccountDirectory:
        assert self._directory is not None, "the fake directory holds the one account made"
        return self._directory

    async def an_account(
        self,
        email: str,
        password: str,
        *,
        roles: tuple[str, ...] = ("user",),
        verified: bool = True,
    ) -> uuid.UUID:
        assert self._directory is None, "the fake directory holds one account"
        self._directory = FakeAccountDirectory(
            uuid.uuid4(), password=password, email=email, roles=roles, email_verified=verified
        )
        return self._directory.user_id

    async def disable(self, user_id: uuid.UUID) -> None:
        assert self._directory is not None
        assert self._directory.user_id == user_id
        self._directory.active = False


class RealSide:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], committed: CommittedUsers
    ) -> None:
        clock = FixedClock(T0)
        self._uow = accounts_uow(session_factory, clock)
        self._hasher = BcryptPasswordHasher({1: b"p" * 32}, rounds=4, concurrency=2, queue_limit=4)
        self.directory = AccountsDirectory(
            self._uow,
            AsyncpgUserViews(committed.pool),
            AsyncpgIdentityViews(committed.pool),
            self._hasher,
            clock,
            require_verified_email=False,
        )
        self.added = committed.ids

    async def an_account(
        self,
        email: str,
        password: str,
        *,
        roles: tuple[str, ...] = ("user",),
        verified: bool = True,
    ) -> uuid.UUID:
        hashed = await self._hasher.hash(password)
        user = a_user(Email(email), password_hash=hashed.value, display_name=None)
        user.roles = roles
        if verified:
            user.mark_email_verified(T0)
        async with self._uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        self.added.append(user.id)
        return user.id

    async def disable(self, user_id: uuid.UUID) -> None:
        async with self._uow() as uow:
            user = await uow.users.get(user_id, for_update=True)
            assert user is not None
            user.is_active = False
            await uow.commit()


@pytest.fixture
def real_side(
    session_factory: async_sessionmaker[AsyncSession], committed_users: CommittedUsers
) -> RealSide:
    return RealSide(session_factory, committed_users)


@pytest.fixture(params=["fake", "real"])
def side(request: pytest.FixtureRequest) -> Side:
    if request.param == "fake":
        return FakeSide()
    real: RealSide = request.getfixturevalue("real_side")
    return real


def an_address() -> str:
    return unique_email("directory").value


async def test_the_right_password_gives_the_accounts_snapshot(side: Side) -> None:
    email = an_address()
    user_id = await side.an_account(email, PASSWORD, roles=("user", "admin"))

    snapshot = await side.directory.authenticate(email, PASSWORD)

    assert snapshot == AccountSnapshot(
        user_id=user_id,
        email=email,
        roles=("user", "admin"),
        is_active=True,
        email_verified=True,
        locale=None,
    )


async def test_the_address_is_found_however_it_is_typed(side: Side) -> None:
    email = an_address()
    user_id = await side.an_account(email, PASSWORD)

    snapshot = await side.directory.authenticate(f"  {email.upper()} ", PASSWORD)

    assert (snapshot.user_id, snapshot.email) == (user_id, email)


@pytest.mark.parametrize(
    "password",
    [PASSWORD + "!", PASSWORD.upper(), f" {PASSWORD}", "", PASSWORD[:-1]],
    ids=["longer", "upper-case", "leading-space", "empty", "shorter"],
)
async def test_a_wrong_password_is_invalid_credentials(side: Side, password: str) -> None:
    email = an_address()
    await side.an_account(email, PASSWORD)

    with pytest.raises(InvalidCredentials):
        await side.directory.authenticate(email, password)


@pytest.mark.parametrize("address", ["unknown", "malformed", "empty"])
async def test_an_unknown_or_malformed_address_is_invalid_credentials(
    side: Side, address: str
) -> None:
    await side.an_account(an_address(), PASSWORD)
    typed = {"unknown": an_address(), "malformed": "not an address", "empty": ""}[address]

    with pytest.raises(InvalidCredentials):
        await side.directory.authenticate(typed, PASSWORD)


async def test_an_unverified_account_signs_in_and_shows_it(side: Side) -> None:
    email = an_address()
    user_id = await side.an_account(email, PASSWORD, verified=False)

    signed_in = await side.directory.authenticate(email, PASSWORD)
    looked_up = await side.directory.get(user_id)

    assert signed_in.email_verified is False
    assert looked_up is not None
    assert looked_up.email_verified is False


async def test_reauthentication_takes_the_accounts_own_password_only(side: Side) -> None:
    email = an_address()
    user_id = await side.an_account(email, PASSWORD)

    snapshot = await side.directory.reauthenticate(user_id, PASSWORD)
    assert snapshot == await side.directory.authenticate(email, PASSWORD)
    assert snapshot.user_id == user_id

    with pytest.raises(ReauthFailed):
        await side.directory.reauthenticate(user_id, PASSWORD + "!")
    with pytest.raises(ReauthFailed):
        await side.directory.reauthenticate(uuid.uuid4(), PASSWORD)


async def test_get_looks_an_account_up_by_id(side: Side) -> None:
    email = an_address()
    user_id = await side.an_account(email, PASSWORD, roles=("user", "admin"))

    found = await side.directory.get(user_id)

    assert found == AccountSnapshot(
        user_id=user_id,
        email=email,
        roles=("user", "admin"),
        is_active=True,
        email_verified=True,
        locale=None,
    )
    assert found == await side.directory.authenticate(email, PASSWORD)
    assert await side.directory.get(uuid.uuid4()) is None


async def test_the_profile_is_the_snapshot_with_what_an_administrator_sees(side: Side) -> None:
    email = an_address()
    user_id = await side.an_account(email, PASSWORD)

    profile = await side.directory.profile(user_id)

    assert profile is not None
    assert profile.account == await side.directory.get(user_id)
    assert profile.display_name is None  # none given
    assert profile.created_at.tzinfo is not None
    assert profile.mfa == MfaSummary()  # no second factor yet
    assert await side.directory.profile(uuid.uuid4()) is None


async def test_a_disabled_account_no_longer_signs_in_and_shows_as_disabled(side: Side) -> None:
    email = an_address()
    user_id = await side.an_account(email, PASSWORD)
    await side.directory.authenticate(email, PASSWORD)

    await side.disable(user_id)

    with pytest.raises(InvalidCredentials):
        await side.directory.authenticate(email, PASSWORD)
    with pytest.raises(ReauthFailed):
        await side.directory.reauthenticate(user_id, PASSWORD)
    found = await side.directory.get(user_id)
    assert found is not None
    assert (found.user_id, found.email, found.is_active) == (user_id, email, False)
