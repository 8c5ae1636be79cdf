"""Creating organizations, listing them and their members, and leaving: the use cases through
their fakes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from gatehouse.modules.accounts.application.public import AccountDeleted
from gatehouse.modules.organizations.application.account_events import leave_every_organization
from gatehouse.modules.organizations.application.organizations import (
    CreateOrganization,
    ListMembers,
    ListMyOrganizations,
    ListOrganizations,
    RemoveMember,
)
from gatehouse.modules.organizations.domain.errors import (
    InvalidOrganizationName,
    MemberNotFound,
    OrganizationNotFound,
    OwnerRequired,
)
from gatehouse.modules.organizations.domain.model import Role
from tests.unit.organizations.conftest import World


async def test_the_creator_of_an_organization_is_its_owner(world: World) -> None:
    mine = await world.app.create()(CreateOrganization("  Analytical Engines ", world.ada))

    assert (mine.organization.name, mine.role) == ("Analytical Engines", Role.OWNER)
    members = await world.app.list_members()(ListMembers(mine.organization.id, world.ada))
    assert [(m.user_id, m.email, m.role) for m in members.items] == [
        (world.ada, "ada@example.com", Role.OWNER)
    ]


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
async def test_a_blank_or_too_long_name_is_refused(world: World, name: str) -> None:
    with pytest.raises(InvalidOrganizationName):
        await world.app.create()(CreateOrganization(name, world.ada))
    assert world.uow.commits == 0


async def test_my_organizations_come_newest_first_a_page_at_a_time(world: World) -> None:
    created = [await world.organization(world.ada, f"Org {n}") for n in range(3)]
    await world.organization(world.account("bob@example.com"), "Not mine")
    list_mine = world.app.list_mine()

    first = await list_mine(ListMyOrganizations(world.ada, limit=2))
    rest = await list_mine(ListMyOrganizations(world.ada, limit=2, before=first.next_before))

    names = [m.organization.name for m in first.items + rest.items]
    assert names == [c.organization.name for c in reversed(created)]
    assert rest.next_before is None


async def test_only_members_see_the_members(world: World) -> None:
    org = (await world.organization(world.ada)).organization
    bob = await world.join(org.id, "bob@example.com", by=world.ada)
    outsider = world.account("eve@example.com")
    list_members = world.app.list_members()

    seen_by_bob = await list_members(ListMembers(org.id, bob))
    assert {(m.email, m.role) for m in seen_by_bob.items} == {
        ("ada@example.com", Role.OWNER),
        ("bob@example.com", Role.MEMBER),
    }
    with pytest.raises(OrganizationNotFound):
        await list_members(ListMembers(org.id, outsider))
    with pytest.raises(OrganizationNotFound):
        await list_members(ListMembers(uuid.uuid4(), world.ada))


async def test_an_owner_removes_a_member_but_a_member_cannot_remove_another(world: World) -> None:
    org = (await world.organization(world.ada)).organization
    bob = await world.join(org.id, "bob@example.com", by=world.ada)
    cy = await world.join(org.id, "cy@example.com", by=world.ada)
    remove = world.app.remove_member()

    with pytest.raises(OwnerRequired):
        await remove(RemoveMember(org.id, cy, by=bob))
    await remove(RemoveMember(org.id, cy, by=world.ada))
    await remove(RemoveMember(org.id, bob, by=bob))  # leaving needs no owner

    assert list(world.uow.state.memberships) == [(org.id, world.ada)]
    with pytest.raises(MemberNotFound):
        await remove(RemoveMember(org.id, bob, by=world.ada))
    with pytest.raises(OrganizationNotFound):
        await remove(RemoveMember(org.id, world.ada, by=bob))


async def test_when_the_last_owner_leaves_the_member_who_joined_first_becomes_owner(
    world: World,
) -> None:
    org = (await world.organization(world.ada)).organization
    bob = await world.join(org.id, "bob@example.com", by=world.ada)
    world.clock.advance(timedelta(minutes=1))
    cy = await world.join(org.id, "cy@example.com", by=world.ada)

    await world.app.remove_member()(RemoveMember(org.id, world.ada, by=world.ada))

    roles = {user: m.role for (_, user), m in world.uow.state.memberships.items()}
    assert roles == {bob: Role.OWNER, cy: Role.MEMBER}


async def test_another_owner_staying_keeps_the_roles_as_they_are(world: World) -> None:
    org = (await world.organization(world.ada)).organization
    bob = await world.join(org.id, "bob@example.com", by=world.ada)
    cy = await world.join(org.id, "cy@example.com", by=world.ada, role=Role.OWNER)

    await world.app.remove_member()(RemoveMember(org.id, world.ada, by=cy))

    roles = {user: m.role for (_, user), m in world.uow.state.memberships.items()}
    assert roles == {bob: Role.MEMBER, cy: Role.OWNER}


async def test_when_the_last_member_leaves_the_organization_is_deleted(world: World) -> None:
    org = (await world.organization(world.ada)).organization
    await world.invite(org.id, "bob@example.com", by=world.ada)

    await world.app.remove_member()(RemoveMember(org.id, world.ada, by=world.ada))

    state = world.uow.state
    assert (state.organizations, state.memberships, state.invitations) == ({}, {}, {})


async def test_an_account_deletion_ends_its_memberships_and_the_invitations_it_sent(
    world: World,
) -> None:
    alone = (await world.organization(world.ada, "Alone")).organization
    shared = (await world.organization(world.ada, "Shared")).organization
    bob = await world.join(shared.id, "bob@example.com", by=world.ada)
    await world.invite(shared.id, "cy@example.com", by=world.ada)

    async with world.uow() as tx:  # accounts' transaction, in the app
        await leave_every_organization(AccountDeleted(user_id=world.ada), tx)
        await tx.commit()

    state = world.uow.state
    assert alone.id not in state.organizations  # nobody left
    assert {user: m.role for (_, user), m in state.memberships.items()} == {bob: Role.OWNER}
    assert state.invitations == {}  # ada sent both (bob's, accepted; cy's, pending)


async def test_the_admin_list_pages_through_every_organization(world: World) -> None:
    created = [await world.organization(world.account(f"u{n}@example.com")) for n in range(3)]
    list_all = world.app.list_all()

    first = await list_all(ListOrganizations(limit=2))
    rest = await list_all(ListOrganizations(limit=2, before=first.next_before))

    ids = [o.id for o in first.items + rest.items]
    assert ids == [c.organization.id for c in reversed(created)]
    assert first.next_before is not None
    assert rest.next_before is None
