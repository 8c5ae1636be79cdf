"""One suite for the OrganizationsUnitOfWork port and its repositories, run against the fake
and the SQLAlchemy adapter on a real PostgreSQL (each test's commits undone afterwards)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.organizations.application.ports import OrganizationsUnitOfWork
from gatehouse.modules.organizations.domain.errors import AlreadyAMember
from gatehouse.modules.organizations.domain.model import (
    Invitation,
    Membership,
    Organization,
    Role,
)
from gatehouse.shared.ids import new_id
from tests.support.builders import T0
from tests.support.fakes.organizations import InMemoryOrganizationsUnitOfWork
from tests.support.uow import organizations_uow

UowFactory = Callable[[], OrganizationsUnitOfWork]


@pytest.fixture(params=["in_memory", "sqlalchemy"])
def uow(request: pytest.FixtureRequest) -> UowFactory:
    if request.param == "in_memory":
        return InMemoryOrganizationsUnitOfWork()  # calling it returns itself, like a factory
    factory: async_sessionmaker[AsyncSession] = request.getfixturevalue("tx_session_factory")
    return organizations_uow(factory)


def member(
    organization: Organization, user_id: uuid.UUID, role: Role, minutes: int = 0
) -> Membership:
    return Membership(
        organization_id=organization.id,
        user_id=user_id,
        role=role,
        created_at=T0 + timedelta(minutes=minutes),
    )


def invitation(organization: Organization, invited_by: uuid.UUID) -> Invitation:
    token_hash = hashlib.sha256(secrets.token_bytes(32)).digest()
    return Invitation.issue(
        organization.id,
        f"{secrets.token_hex(4)}@example.com",
        Role.MEMBER,
        token_hash=token_hash,
        invited_by=invited_by,
        now=T0,
    )


async def organization_with(uow: UowFactory, *members: tuple[uuid.UUID, Role]) -> Organization:
    organization = Organization.create("Engines", T0)
    async with uow() as tx:
        await tx.organizations.add(organization)
        for minutes, (user_id, role) in enumerate(members):
            await tx.memberships.add(member(organization, user_id, role, minutes))
        await tx.commit()
    return organization


async def test_a_committed_organization_and_its_members_are_found(uow: UowFactory) -> None:
    ada, bob = new_id(), new_id()
    organization = await organization_with(uow, (ada, Role.OWNER), (bob, Role.MEMBER))

    async with uow() as tx:
        found = await tx.organizations.get(organization.id)
        owner = await tx.memberships.get(organization.id, ada)
        assert found is not None
        assert (found.name, found.created_at) == ("Engines", T0)
        assert owner is not None
        assert owner.role is Role.OWNER
        assert await tx.memberships.get(organization.id, new_id()) is None
        assert await tx.memberships.has_owner(organization.id)
        assert set(await tx.organizations.get_many([organization.id, new_id()])) == {
            organization.id
        }


async def test_nothing_is_kept_without_commit(uow: UowFactory) -> None:
    organization = Organization.create("Engines", T0)
    async with uow() as tx:
        await tx.organizations.add(organization)
        assert await tx.organizations.get(organization.id) is not None

    async with uow() as tx:
        assert await tx.organizations.get(organization.id) is None


async def test_a_user_joins_an_organization_once(uow: UowFactory) -> None:
    ada = new_id()
    organization = await organization_with(uow, (ada, Role.OWNER))

    async def join_again() -> None:
        async with uow() as tx:
            await tx.memberships.add(member(organization, ada, Role.MEMBER))
            await tx.commit()

    with pytest.raises(AlreadyAMember):
        await join_again()


async def test_a_users_memberships_come_newest_organization_first_in_pages(
    uow: UowFactory,
) -> None:
    ada = new_id()
    organizations = [await organization_with(uow, (ada, Role.MEMBER)) for _ in range(3)]
    newest_first = [o.id for o in reversed(organizations)]

    async with uow() as tx:
        first = await tx.memberships.of_user(ada, limit=2)
        rest = await tx.memberships.of_user(ada, limit=2, before=first[-1].organization_id)
        every = await tx.memberships.of_user(ada)

    assert [m.organization_id for m in first + rest] == newest_first
    assert [m.organization_id for m in every] == newest_first


async def test_members_page_by_user_id_and_the_oldest_is_the_first_to_join(
    uow: UowFactory,
) -> None:
    users = [new_id() for _ in range(3)]  # increasing ids; the last joins first
    organization = await organization_with(
        uow, (users[2], Role.MEMBER), (users[0], Role.MEMBER), (users[1], Role.MEMBER)
    )

    async with uow() as tx:
        first = await tx.memberships.of_organization(organization.id, limit=2, before=None)
        rest = await tx.memberships.of_organization(
            organization.id, limit=2, before=first[-1].user_id
        )
        oldest = await tx.memberships.oldest(organization.id)
        assert not await tx.memberships.has_owner(organization.id)

    assert [m.user_id for m in first + rest] == list(reversed(users))
    assert oldest is not None
    assert oldest.user_id == users[2]


async def test_a_promotion_and_a_removal_are_kept_on_commit(uow: UowFactory) -> None:
    ada, bob = new_id(), new_id()
    organization = await organization_with(uow, (ada, Role.OWNER), (bob, Role.MEMBER))

    async with uow() as tx:
        leaving = await tx.memberships.get(organization.id, ada)
        staying = await tx.memberships.get(organization.id, bob)
        assert leaving is not None
        assert staying is not None
        await tx.memberships.remove(leaving)
        assert not await tx.memberships.has_owner(organization.id)
        staying.promote()
        await tx.commit()

    async with uow() as tx:
        assert await tx.memberships.get(organization.id, ada) is None
        promoted = await tx.memberships.get(organization.id, bob)
        assert promoted is not None
        assert promoted.role is Role.OWNER


async def test_an_invitation_is_found_by_its_token_hash_and_accepted_once(
    uow: UowFactory,
) -> None:
    ada = new_id()
    organization = await organization_with(uow, (ada, Role.OWNER))
    sent = invitation(organization, ada)
    async with uow() as tx:
        await tx.invitations.add(sent)
        await tx.commit()

    async with uow() as tx:
        found = await tx.invitations.get_by_token_hash(sent.token_hash)
        assert found is not None
        assert (found.id, found.email, found.expires_at) == (sent.id, sent.email, sent.expires_at)
        found.accept(T0)
        await tx.commit()

    async with uow() as tx:
        accepted = await tx.invitations.get_by_token_hash(sent.token_hash)
        assert accepted is not None
        assert not accepted.is_usable(T0)
        assert await tx.invitations.get_by_token_hash(b"\0" * 32) is None


async def test_the_invitations_a_user_sent_are_removed_with_them(uow: UowFactory) -> None:
    ada, bob = new_id(), new_id()
    organization = await organization_with(uow, (ada, Role.OWNER), (bob, Role.OWNER))
    by_ada, by_bob = invitation(organization, ada), invitation(organization, bob)
    async with uow() as tx:
        await tx.invitations.add(by_ada)
        await tx.invitations.add(by_bob)
        await tx.commit()

    async with uow() as tx:
        await tx.invitations.remove_sent_by(ada)
        await tx.commit()

    async with uow() as tx:
        assert await tx.invitations.get_by_token_hash(by_ada.token_hash) is None
        assert await tx.invitations.get_by_token_hash(by_bob.token_hash) is not None


async def test_an_organization_goes_with_its_memberships_and_invitations(
    uow: UowFactory,
) -> None:
    ada = new_id()
    organization = await organization_with(uow, (ada, Role.OWNER))
    sent = invitation(organization, ada)
    async with uow() as tx:
        await tx.invitations.add(sent)
        await tx.commit()

    async with uow() as tx:
        found = await tx.organizations.get(organization.id, for_update=True)
        assert found is not None
        await tx.organizations.delete(found)
        await tx.commit()

    async with uow() as tx:
        assert await tx.organizations.get(organization.id) is None
        assert await tx.memberships.get(organization.id, ada) is None
        assert await tx.memberships.of_user(ada) == []
        assert await tx.invitations.get_by_token_hash(sent.token_hash) is None


async def test_the_organizations_page_newest_first(uow: UowFactory) -> None:
    created = [await organization_with(uow, (new_id(), Role.OWNER)) for _ in range(3)]
    below = new_id()  # newer than every one above: the page starts below it

    async with uow() as tx:
        first = await tx.organizations.page(limit=2, before=below)
        rest = await tx.organizations.page(limit=1, before=first[-1].id)

    assert [o.id for o in first + rest] == [o.id for o in reversed(created)]
