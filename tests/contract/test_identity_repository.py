"""One suite for the IdentityRepository port (``uow.identities``), run against the fake and the
real adapter: the social-login use cases rely on exactly this, so the fake must do it too.

Found by ``(issuer, subject)`` only; one identity per ``(issuer, subject)`` and per user and
provider, a duplicate refused with ``IdentityLinkConflict`` (translated at the adapter edge from
the named unique constraints); removal effective at once; gone with the user.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.domain.errors import AccountExists, IdentityLinkConflict
from gatehouse.modules.accounts.domain.identity import Identity
from gatehouse.modules.accounts.domain.model import User
from gatehouse.shared.ids import new_id
from tests.support.builders import T0, a_user
from tests.support.fakes import InMemoryAccountsUnitOfWork
from tests.support.uow import accounts_uow

UowFactory = Callable[[], AccountsUnitOfWork]
ISSUER = "https://issuer.example.com"
LATER = T0 + timedelta(minutes=5)


@pytest.fixture(params=["in_memory", "sqlalchemy"])
def uow(request: pytest.FixtureRequest) -> UowFactory:
    if request.param == "in_memory":
        return InMemoryAccountsUnitOfWork()  # calling it returns itself, like a factory
    factory: async_sessionmaker[AsyncSession] = request.getfixturevalue("tx_session_factory")
    return accounts_uow(factory)


def an_identity(
    user: User, provider: str = "google", *, subject: str | None = None, issuer: str = ISSUER
) -> Identity:
    return Identity.link(
        identity_id=new_id(),
        user_id=user.id,
        provider=provider,
        issuer=issuer,
        subject=subject or secrets.token_hex(8),
        email=str(user.email),
        now=T0,
        signed_in=True,
    )


async def a_committed_user(uow: UowFactory, *identities: Callable[[User], Identity]) -> User:
    user = a_user()
    async with uow() as tx:
        await tx.users.add(user)
        for make in identities:
            await tx.identities.add(make(user))
        await tx.commit()
    return user


async def link(uow: UowFactory, identity: Identity) -> None:
    async with uow() as tx:
        await tx.identities.add(identity)
        await tx.commit()


async def test_a_committed_identity_is_found_by_issuer_and_subject_and_listed_for_its_user(
    uow: UowFactory,
) -> None:
    user, other = await a_committed_user(uow), await a_committed_user(uow)
    first, second = an_identity(user, "google"), an_identity(user, "github")
    async with uow() as tx:
        await tx.identities.add(first)
        await tx.identities.add(second)
        await tx.identities.add(an_identity(other, "google"))
        await tx.commit()

    async with uow() as tx:
        found = await tx.identities.get(ISSUER, first.subject)
        assert found is not None
        assert (found.id, found.user_id, found.provider, found.email) == (
            first.id,
            user.id,
            "google",
            str(user.email),
        )
        assert (found.created_at, found.last_used_at) == (T0, T0)
        assert await tx.identities.get("https://elsewhere.example.com", first.subject) is None
        assert await tx.identities.get(ISSUER, "unknown") is None
        assert [i.id for i in await tx.identities.of_user(user.id)] == [first.id, second.id]
        assert await tx.identities.of_user(uuid.uuid4()) == []


async def test_nothing_is_kept_without_commit(uow: UowFactory) -> None:
    user = await a_committed_user(uow)
    identity = an_identity(user)
    async with uow() as tx:
        await tx.identities.add(identity)
        assert await tx.identities.get(ISSUER, identity.subject) is not None

    async with uow() as tx:
        assert await tx.identities.get(ISSUER, identity.subject) is None


async def test_the_same_provider_account_cannot_be_linked_twice_even_to_another_user(
    uow: UowFactory,
) -> None:
    taken = an_identity(await a_committed_user(uow), subject="sub-" + secrets.token_hex(4))
    await link(uow, taken)

    other = await a_committed_user(uow)
    with pytest.raises(IdentityLinkConflict) as refused:
        await link(uow, an_identity(other, "other-name", subject=taken.subject))
    assert isinstance(refused.value, AccountExists)  # what a caller sees if it escapes


async def test_a_user_has_at_most_one_identity_of_a_provider(uow: UowFactory) -> None:
    user = await a_committed_user(uow, an_identity)
    with pytest.raises(IdentityLinkConflict):
        await link(uow, an_identity(user, "google"))
    async with uow() as tx:
        assert len(await tx.identities.of_user(user.id)) == 1


async def test_a_removed_identity_can_be_replaced_by_another_of_its_provider_in_one_go(
    uow: UowFactory,
) -> None:
    user = await a_committed_user(uow, an_identity)
    replacement = an_identity(user, "google")
    async with uow() as tx:
        [old] = await tx.identities.of_user(user.id)
        await tx.identities.remove(old)
        await tx.identities.add(replacement)
        await tx.commit()

    async with uow() as tx:
        assert [i.id for i in await tx.identities.of_user(user.id)] == [replacement.id]
        assert await tx.identities.get(ISSUER, old.subject) is None


async def test_a_sign_in_is_kept_on_the_identity_only_on_commit(uow: UowFactory) -> None:
    user = await a_committed_user(uow, an_identity)
    async with uow() as tx:
        [identity] = await tx.identities.of_user(user.id)
        found = await tx.identities.get(ISSUER, identity.subject, for_update=True)
        assert found is not None
        found.signed_in(LATER, "abandoned@example.com")
        # no commit
    async with uow() as tx:
        found = await tx.identities.get(ISSUER, identity.subject, for_update=True)
        assert found is not None
        assert found.last_used_at == T0
        found.signed_in(LATER, "new@example.com")
        await tx.commit()

    async with uow() as tx:
        found = await tx.identities.get(ISSUER, identity.subject)
        assert found is not None
        assert (found.last_used_at, found.email) == (LATER, "new@example.com")


async def test_deleting_the_user_deletes_its_identities(uow: UowFactory) -> None:
    user = await a_committed_user(uow, an_identity, lambda u: an_identity(u, "github"))
    async with uow() as tx:
        subjects = [i.subject for i in await tx.identities.of_user(user.id)]
        loaded = await tx.users.get(user.id, for_update=True)
        assert loaded is not None
        await tx.users.delete(loaded)
        await tx.commit()

    async with uow() as tx:
        assert await tx.identities.of_user(user.id) == []
        for subject in subjects:
            assert await tx.identities.get(ISSUER, subject) is None
