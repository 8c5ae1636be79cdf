"""Ports of the organizations module: three narrow repositories and the unit of work that
carries them. Lists are keyset pages, newest first by a UUIDv7 (``before``: continue below it)."""

from __future__ import annotations

import uuid
from typing import Protocol

from gatehouse.modules.organizations.domain.model import Invitation, Membership, Organization
from gatehouse.shared.uow import UnitOfWork


class OrganizationRepository(Protocol):
    async def add(self, organization: Organization) -> None: ...

    async def get(
        self, organization_id: uuid.UUID, *, for_update: bool = False
    ) -> Organization | None:
        """``for_update``: locked, so membership changes of one organization run one at a time."""
        ...

    async def get_many(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Organization]: ...

    async def page(self, *, limit: int, before: uuid.UUID | None) -> list[Organization]:
        """Every organization, newest first."""
        ...

    async def delete(self, organization: Organization) -> None:
        """The organization with its memberships and invitations."""
        ...


class MembershipRepository(Protocol):
    async def add(self, membership: Membership) -> None: ...

    async def get(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None: ...

    async def of_user(
        self, user_id: uuid.UUID, *, limit: int | None = None, before: uuid.UUID | None = None
    ) -> list[Membership]:
        """The user's memberships by organization id, newest first (all when no ``limit``)."""
        ...

    async def of_organization(
        self, organization_id: uuid.UUID, *, limit: int, before: uuid.UUID | None
    ) -> list[Membership]:
        """The members by user id, newest account first."""
        ...

    async def oldest(self, organization_id: uuid.UUID) -> Membership | None:
        """The member who joined first (then the lowest user id), owner or not."""
        ...

    async def has_owner(self, organization_id: uuid.UUID) -> bool: ...

    async def remove(self, membership: Membership) -> None: ...


class InvitationRepository(Protocol):
    async def add(self, invitation: Invitation) -> None: ...

    async def get_by_token_hash(self, token_hash: bytes) -> Invitation | None:
        """Locked for update, so two acceptances of one token cannot both succeed."""
        ...

    async def remove_sent_by(self, user_id: uuid.UUID) -> None:
        """Every invitation the user sent (a pending one can no longer be accepted)."""
        ...


class Repositories(Protocol):
    """The module's repositories on one session: a unit of work's, or the session of another
    module's transaction that an event handler writes in (``adapters/events.py``)."""

    organizations: OrganizationRepository
    memberships: MembershipRepository
    invitations: InvitationRepository


class OrganizationsUnitOfWork(Repositories, UnitOfWork, Protocol):
    """Mails are recorded (``record(OutgoingMail(...))``) and written to the outbox at commit."""
