"""The organizations module's repositories and unit of work, in SQLAlchemy."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.modules.organizations.adapters.orm import (
    MEMBERSHIP_PRIMARY_KEY,
    invitation_table,
    membership_table,
    organization_table,
)
from gatehouse.modules.organizations.application.ports import (
    InvitationRepository,
    MembershipRepository,
    OrganizationRepository,
    OrganizationsUnitOfWork,
    Repositories,
)
from gatehouse.modules.organizations.domain.errors import AlreadyAMember
from gatehouse.modules.organizations.domain.model import (
    Invitation,
    Membership,
    Organization,
    Role,
)
from gatehouse.shared.persistence import SqlAlchemyUnitOfWork


class SqlAlchemyOrganizationRepository(OrganizationRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, organization: Organization) -> None:
        self._session.add(organization)
        await self._session.flush()  # before its first membership refers to it

    async def get(
        self, organization_id: uuid.UUID, *, for_update: bool = False
    ) -> Organization | None:
        stmt = select(Organization).where(organization_table.c.id == organization_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def get_many(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Organization]:
        stmt = select(Organization).where(organization_table.c.id.in_(ids))
        return {o.id: o for o in (await self._session.execute(stmt)).scalars()}

    async def page(self, *, limit: int, before: uuid.UUID | None) -> list[Organization]:
        t = organization_table
        stmt = select(Organization).order_by(t.c.id.desc()).limit(limit)
        if before is not None:
            stmt = stmt.where(t.c.id < before)
        return list((await self._session.execute(stmt)).scalars())

    async def delete(self, organization: Organization) -> None:
        # Its memberships and invitations go too (ON DELETE CASCADE).
        await self._session.delete(organization)
        await self._session.flush()


class SqlAlchemyMembershipRepository(MembershipRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, membership: Membership) -> None:
        self._session.add(membership)
        await self._session.flush()  # a taken primary key surfaces here, in the unit of work

    async def get(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        t = membership_table
        stmt = select(Membership).where(
            t.c.organization_id == organization_id, t.c.user_id == user_id
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def of_user(
        self, user_id: uuid.UUID, *, limit: int | None = None, before: uuid.UUID | None = None
    ) -> list[Membership]:
        t = membership_table
        stmt = select(Membership).where(t.c.user_id == user_id)
        if before is not None:
            stmt = stmt.where(t.c.organization_id < before)
        stmt = stmt.order_by(t.c.organization_id.desc()).limit(limit)
        return list((await self._session.execute(stmt)).scalars())

    async def of_organization(
        self, organization_id: uuid.UUID, *, limit: int, before: uuid.UUID | None
    ) -> list[Membership]:
        t = membership_table
        stmt = select(Membership).where(t.c.organization_id == organization_id)
        if before is not None:
            stmt = stmt.where(t.c.user_id < before)
        stmt = stmt.order_by(t.c.user_id.desc()).limit(limit)
        return list((await self._session.execute(stmt)).scalars())

    async def oldest(self, organization_id: uuid.UUID) -> Membership | None:
        t = membership_table
        stmt = (
            select(Membership)
            .where(t.c.organization_id == organization_id)
            .order_by(t.c.created_at, t.c.user_id)
            .limit(1)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def has_owner(self, organization_id: uuid.UUID) -> bool:
        t = membership_table
        owner = exists().where(t.c.organization_id == organization_id, t.c.role == Role.OWNER)
        return bool(await self._session.scalar(select(owner)))

    async def remove(self, membership: Membership) -> None:
        await self._session.delete(membership)
        await self._session.flush()  # gone before the next query asks who is left


class SqlAlchemyInvitationRepository(InvitationRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, invitation: Invitation) -> None:
        self._session.add(invitation)

    async def get_by_token_hash(self, token_hash: bytes) -> Invitation | None:
        t = invitation_table
        stmt = select(Invitation).where(t.c.token_hash == token_hash).with_for_update()
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def remove_sent_by(self, user_id: uuid.UUID) -> None:
        t = invitation_table
        await self._session.execute(
            delete(t).where(t.c.invited_by == user_id).execution_options(synchronize_session=False)
        )


class SqlAlchemyRepositories(Repositories):
    """The three repositories on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.organizations = SqlAlchemyOrganizationRepository(session)
        self.memberships = SqlAlchemyMembershipRepository(session)
        self.invitations = SqlAlchemyInvitationRepository(session)


class SqlAlchemyOrganizationsUnitOfWork(SqlAlchemyUnitOfWork, OrganizationsUnitOfWork):
    conflicts = {MEMBERSHIP_PRIMARY_KEY: AlreadyAMember}

    organizations: OrganizationRepository
    memberships: MembershipRepository
    invitations: InvitationRepository

    def _attach(self, session: AsyncSession) -> None:
        repos = SqlAlchemyRepositories(session)
        self.organizations = repos.organizations
        self.memberships = repos.memberships
        self.invitations = repos.invitations
