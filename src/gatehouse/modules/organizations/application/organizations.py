"""Create an organization, list the caller's, list its members, remove a member; and the rule
for an organization its last owner leaves.

Every use case takes the acting user (``by``) explicitly. A caller who is not a member is told
``organization_not_found``, whether or not it exists.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gatehouse.modules.accounts.application.public import AccountDirectory
from gatehouse.modules.organizations.application.ports import (
    OrganizationsUnitOfWork,
    Repositories,
)
from gatehouse.modules.organizations.domain.errors import (
    MemberNotFound,
    OrganizationNotFound,
    OwnerRequired,
)
from gatehouse.modules.organizations.domain.model import Membership, Organization, Role
from gatehouse.shared.clock import Clock
from gatehouse.shared.pagination import Page, page_of


@dataclass(frozen=True, slots=True)
class MyOrganization:
    organization: Organization
    role: Role  # the caller's


@dataclass(frozen=True, slots=True)
class Member:
    user_id: uuid.UUID
    email: str | None  # from accounts; None for an account deleted a moment ago
    role: Role
    joined_at: datetime


async def membership_of(
    repos: Repositories, organization_id: uuid.UUID, user_id: uuid.UUID
) -> Membership:
    """The caller's membership, or ``organization_not_found``."""
    membership = await repos.memberships.get(organization_id, user_id)
    if membership is None:
        raise OrganizationNotFound
    return membership


async def leave(repos: Repositories, organization: Organization, membership: Membership) -> None:
    """Remove ``membership`` (its organization locked by the caller). An organization is never
    left without an owner: when the last one goes, the member who joined first becomes owner;
    when nobody remains, the organization is deleted with its invitations."""
    await repos.memberships.remove(membership)
    if not membership.is_owner or await repos.memberships.has_owner(organization.id):
        return
    successor = await repos.memberships.oldest(organization.id)
    if successor is None:
        await repos.organizations.delete(organization)
    else:
        successor.promote()


@dataclass(frozen=True, slots=True)
class CreateOrganization:
    name: str
    by: uuid.UUID


class CreateOrganizationHandler:
    def __init__(self, uow: Callable[[], OrganizationsUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, cmd: CreateOrganization) -> MyOrganization:
        now = self._clock.now()
        organization = Organization.create(cmd.name, now)
        async with self._uow() as uow:
            await uow.organizations.add(organization)
            owner = Membership(
                organization_id=organization.id, user_id=cmd.by, role=Role.OWNER, created_at=now
            )
            await uow.memberships.add(owner)
            await uow.commit()
        return MyOrganization(organization, Role.OWNER)


@dataclass(frozen=True, slots=True)
class ListMyOrganizations:
    user_id: uuid.UUID
    limit: int = 20
    before: uuid.UUID | None = None  # an organization id


class ListMyOrganizationsHandler:
    def __init__(self, uow: Callable[[], OrganizationsUnitOfWork]) -> None:
        self._uow = uow

    async def __call__(self, query: ListMyOrganizations) -> Page[MyOrganization]:
        async with self._uow() as uow:
            rows = await uow.memberships.of_user(
                query.user_id, limit=query.limit + 1, before=query.before
            )
            page = page_of(rows, query.limit, lambda m: m.organization_id)
            found = await uow.organizations.get_many([m.organization_id for m in page.items])
        items = [
            MyOrganization(found[m.organization_id], m.role)
            for m in page.items
            if m.organization_id in found  # not deleted between the two reads
        ]
        return Page(items, page.next_before)


@dataclass(frozen=True, slots=True)
class ListMembers:
    organization_id: uuid.UUID
    by: uuid.UUID
    limit: int = 20
    before: uuid.UUID | None = None  # a user id


class ListMembersHandler:
    """Members only. Their addresses come from accounts' facade, one read each."""

    def __init__(
        self, uow: Callable[[], OrganizationsUnitOfWork], accounts: AccountDirectory
    ) -> None:
        self._uow = uow
        self._accounts = accounts

    async def __call__(self, query: ListMembers) -> Page[Member]:
        async with self._uow() as uow:
            await membership_of(uow, query.organization_id, query.by)
            rows = await uow.memberships.of_organization(
                query.organization_id, limit=query.limit + 1, before=query.before
            )
        page = page_of(rows, query.limit, lambda m: m.user_id)
        accounts = await asyncio.gather(*(self._accounts.get(m.user_id) for m in page.items))
        items = [
            Member(m.user_id, account.email if account else None, m.role, m.created_at)
            for m, account in zip(page.items, accounts, strict=True)
        ]
        return Page(items, page.next_before)


@dataclass(frozen=True, slots=True)
class RemoveMember:
    organization_id: uuid.UUID
    user_id: uuid.UUID  # who leaves
    by: uuid.UUID  # an owner, or the member themself


class RemoveMemberHandler:
    def __init__(self, uow: Callable[[], OrganizationsUnitOfWork]) -> None:
        self._uow = uow

    async def __call__(self, cmd: RemoveMember) -> None:
        async with self._uow() as uow:
            organization = await uow.organizations.get(cmd.organization_id, for_update=True)
            if organization is None:
                raise OrganizationNotFound
            actor = await membership_of(uow, organization.id, cmd.by)
            if cmd.user_id != cmd.by and not actor.is_owner:
                raise OwnerRequired
            target = await uow.memberships.get(organization.id, cmd.user_id)
            if target is None:
                raise MemberNotFound
            await leave(uow, organization, target)
            await uow.commit()


@dataclass(frozen=True, slots=True)
class ListOrganizations:
    """An administrator's list of every organization."""

    limit: int = 20
    before: uuid.UUID | None = None


class ListOrganizationsHandler:
    def __init__(self, uow: Callable[[], OrganizationsUnitOfWork]) -> None:
        self._uow = uow

    async def __call__(self, query: ListOrganizations) -> Page[Organization]:
        async with self._uow() as uow:
            rows = await uow.organizations.page(limit=query.limit + 1, before=query.before)
        return page_of(rows, query.limit, lambda organization: organization.id)
