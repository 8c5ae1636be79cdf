"""Organizations, their members and the invitations that make members. Plain dataclasses: no
framework, no other module. Users are known by id only; accounts owns everything else about
them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from gatehouse.modules.organizations.domain.errors import InvalidOrganizationName
from gatehouse.shared.ids import new_id

MAX_NAME_LENGTH = 100
INVITATION_TTL = timedelta(days=7)


class Role(StrEnum):
    OWNER = "owner"  # invites, removes members; an organization always has one
    MEMBER = "member"


@dataclass(eq=False, kw_only=True)
class Organization:
    id: uuid.UUID  # UUIDv7: lists are newest first by id
    name: str
    created_at: datetime

    @classmethod
    def create(cls, name: str, now: datetime) -> Organization:
        name = name.strip()
        if not name or len(name) > MAX_NAME_LENGTH:
            msg = f"the name must be 1 to {MAX_NAME_LENGTH} characters"
            raise InvalidOrganizationName(msg, field="name")
        return cls(id=new_id(), name=name, created_at=now)


@dataclass(eq=False, kw_only=True)
class Membership:
    """A user in an organization with a role. Identity is ``(organization_id, user_id)``."""

    organization_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    created_at: datetime

    @property
    def is_owner(self) -> bool:
        return self.role is Role.OWNER

    def promote(self) -> None:
        self.role = Role.OWNER


@dataclass(eq=False, kw_only=True)
class Invitation:
    """An invitation mailed to an address, accepted once by the signed-in user whose verified
    address it is. Only a hash of its token is kept."""

    id: uuid.UUID
    organization_id: uuid.UUID
    email: str  # an address accounts accepts, normalised as accounts compares addresses
    role: Role
    token_hash: bytes
    invited_by: uuid.UUID  # the owner who sent it; their account's deletion removes it
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None

    @classmethod
    def issue(
        cls,
        organization_id: uuid.UUID,
        email: str,
        role: Role,
        *,
        token_hash: bytes,
        invited_by: uuid.UUID,
        now: datetime,
    ) -> Invitation:
        return cls(
            id=new_id(),
            organization_id=organization_id,
            email=email,
            role=role,
            token_hash=token_hash,
            invited_by=invited_by,
            created_at=now,
            expires_at=now + INVITATION_TTL,
        )

    def is_usable(self, now: datetime) -> bool:
        return self.accepted_at is None and now < self.expires_at

    def accept(self, now: datetime) -> None:
        self.accepted_at = now
