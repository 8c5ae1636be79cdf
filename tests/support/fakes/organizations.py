"""Fakes for the organizations module's ports (contract: tests/contract/
test_organizations_unit_of_work.py, which runs the same suite against the SQLAlchemy adapter)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from gatehouse.modules.organizations.application.ports import (
    InvitationRepository,
    MembershipRepository,
    OrganizationRepository,
    OrganizationsUnitOfWork,
    Repositories,
)
from gatehouse.modules.organizations.domain.errors import AlreadyAMember
from gatehouse.modules.organizations.domain.model import Invitation, Membership, Organization
from tests.support.fakes.uow import InMemoryUnitOfWork, Recorded


@dataclass
class _OrganizationsState(Recorded):
    organizations: dict[uuid.UUID, Organization] = field(default_factory=dict)
    memberships: dict[tuple[uuid.UUID, uuid.UUID], Membership] = field(default_factory=dict)
    invitations: dict[uuid.UUID, Invitation] = field(default_factory=dict)


def _newest_first(
    rows: list[Membership], key: str, limit: int | None, before: uuid.UUID | None
) -> list[Membership]:
    rows = sorted(rows, key=lambda m: getattr(m, key), reverse=True)
    rows = [m for m in rows if before is None or getattr(m, key) < before]
    return rows if limit is None else rows[:limit]


class InMemoryOrganizationRepository(OrganizationRepository):
    def __init__(self, state: _OrganizationsState) -> None:
        self._state = state

    async def add(self, organization: Organization) -> None:
        self._state.organizations[organization.id] = organization

    async def get(
        self, organization_id: uuid.UUID, *, for_update: bool = False
    ) -> Organization | None:
        return self._state.organizations.get(organization_id)

    async def get_many(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Organization]:
        found = self._state.organizations
        return {i: found[i] for i in ids if i in found}

    async def page(self, *, limit: int, before: uuid.UUID | None) -> list[Organization]:
        ids = sorted(self._state.organizations, reverse=True)
        return [self._state.organizations[i] for i in ids if before is None or i < before][:limit]

    async def delete(self, organization: Organization) -> None:
        state = self._state
        del state.organizations[organization.id]
        for key in [k for k in state.memberships if k[0] == organization.id]:
            del state.memberships[key]  # as ON DELETE CASCADE
        for gone in [
            i.id for i in state.invitations.values() if i.organization_id == organization.id
        ]:
            del state.invitations[gone]


class InMemoryMembershipRepository(MembershipRepository):
    def __init__(self, state: _OrganizationsState) -> None:
        self._state = state

    async def add(self, membership: Membership) -> None:
        key = (membership.organization_id, membership.user_id)
        if key in self._state.memberships:
            raise AlreadyAMember
        self._state.memberships[key] = membership

    async def get(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        return self._state.memberships.get((organization_id, user_id))

    async def of_user(
        self, user_id: uuid.UUID, *, limit: int | None = None, before: uuid.UUID | None = None
    ) -> list[Membership]:
        mine = [m for m in self._state.memberships.values() if m.user_id == user_id]
        return _newest_first(mine, "organization_id", limit, before)

    async def of_organization(
        self, organization_id: uuid.UUID, *, limit: int, before: uuid.UUID | None
    ) -> list[Membership]:
        members = self._members(organization_id)
        return _newest_first(members, "user_id", limit, before)

    async def oldest(self, organization_id: uuid.UUID) -> Membership | None:
        members = self._members(organization_id)
        return min(members, key=lambda m: (m.created_at, m.user_id), default=None)

    async def has_owner(self, organization_id: uuid.UUID) -> bool:
        return any(m.is_owner for m in self._members(organization_id))

    async def remove(self, membership: Membership) -> None:
        del self._state.memberships[membership.organization_id, membership.user_id]

    def _members(self, organization_id: uuid.UUID) -> list[Membership]:
        return [m for m in self._state.memberships.values() if m.organization_id == organization_id]


class InMemoryInvitationRepository(InvitationRepository):
    def __init__(self, state: _OrganizationsState) -> None:
        self._state = state

    async def add(self, invitation: Invitation) -> None:
        self._state.invitations[invitation.id] = invitation

    async def get_by_token_hash(self, token_hash: bytes) -> Invitation | None:
        found = (i for i in self._state.invitations.values() if i.token_hash == token_hash)
        return next(found, None)

    async def remove_sent_by(self, user_id: uuid.UUID) -> None:
        for gone in [i.id for i in self._state.invitations.values() if i.invited_by == user_id]:
            del self._state.invitations[gone]


class InMemoryRepositories(Repositories):
    def __init__(self, state: _OrganizationsState) -> None:
        self.organizations = InMemoryOrganizationRepository(state)
        self.memberships = InMemoryMembershipRepository(state)
        self.invitations = InMemoryInvitationRepository(state)


class InMemoryOrganizationsUnitOfWork(
    InMemoryUnitOfWork[_OrganizationsState], OrganizationsUnitOfWork
):
    """Recorded mails are kept for the test to read (``mails``)."""

    def __init__(self) -> None:
        super().__init__(_OrganizationsState())

    def _attach(self, state: _OrganizationsState) -> None:
        repos = InMemoryRepositories(state)
        self.organizations = repos.organizations
        self.memberships = repos.memberships
        self.invitations = repos.invitations

    @property
    def state(self) -> _OrganizationsState:
        """What is committed."""
        return self.committed
