"""HTTP schemas of the organizations module."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from gatehouse.modules.organizations.application.organizations import Member, MyOrganization
from gatehouse.modules.organizations.domain.model import Invitation, Organization
from gatehouse.shared.http.schemas import EmailField, OutSchema, SafeStr, Schema

RoleField = Literal["owner", "member"]


class CreateOrganizationIn(Schema):
    name: Annotated[SafeStr, Field(min_length=1, max_length=100, examples=["Analytical Engines"])]


class InviteIn(Schema):
    email: EmailField
    role: RoleField = "member"


class AcceptInvitationIn(Schema):
    token: Annotated[SafeStr, Field(min_length=1, max_length=512)]


class OrganizationOut(OutSchema):
    id: uuid.UUID
    name: str
    role: RoleField  # the caller's
    created_at: datetime

    @classmethod
    def of(cls, mine: MyOrganization) -> OrganizationOut:
        o = mine.organization
        return cls(id=o.id, name=o.name, role=mine.role.value, created_at=o.created_at)


class OrganizationPageOut(OutSchema):
    items: list[OrganizationOut]
    next_cursor: str | None


class MemberOut(OutSchema):
    user_id: uuid.UUID
    email: str | None
    role: RoleField
    joined_at: datetime

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls(
            user_id=member.user_id,
            email=member.email,
            role=member.role.value,
            joined_at=member.joined_at,
        )


class MemberPageOut(OutSchema):
    items: list[MemberOut]
    next_cursor: str | None


class InvitationOut(OutSchema):
    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    role: RoleField
    expires_at: datetime

    @classmethod
    def of(cls, invitation: Invitation) -> InvitationOut:
        return cls(
            id=invitation.id,
            organization_id=invitation.organization_id,
            email=invitation.email,
            role=invitation.role.value,
            expires_at=invitation.expires_at,
        )


class AdminOrganizationOut(OutSchema):
    id: uuid.UUID
    name: str
    created_at: datetime

    @classmethod
    def of(cls, organization: Organization) -> AdminOrganizationOut:
        o = organization
        return cls(id=o.id, name=o.name, created_at=o.created_at)


class AdminOrganizationPageOut(OutSchema):
    items: list[AdminOrganizationOut]
    next_cursor: str | None
