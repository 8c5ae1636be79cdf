"""HTTP routes of the organizations module: ``/api/v1/organizations`` for signed-in users, and
``/api/v1/admin/organizations`` for administrators (``RequireRole("admin")``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from gatehouse.modules.organizations.application.invitations import (
    AcceptInvitation,
    AcceptInvitationHandler,
    InviteMember,
    InviteMemberHandler,
)
from gatehouse.modules.organizations.application.organizations import (
    CreateOrganization,
    CreateOrganizationHandler,
    ListMembers,
    ListMembersHandler,
    ListMyOrganizations,
    ListMyOrganizationsHandler,
    ListOrganizations,
    ListOrganizationsHandler,
    RemoveMember,
    RemoveMemberHandler,
)
from gatehouse.modules.organizations.domain.model import Role
from gatehouse.modules.organizations.entrypoints.http.schemas import (
    AcceptInvitationIn,
    AdminOrganizationOut,
    AdminOrganizationPageOut,
    CreateOrganizationIn,
    InvitationOut,
    InviteIn,
    MemberOut,
    MemberPageOut,
    OrganizationOut,
    OrganizationPageOut,
)
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.locale import RequestLocale
from gatehouse.shared.http.pagination import Before, Limit, next_cursor
from gatehouse.shared.http.rate_limits import rate_limited
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.security import CurrentPrincipal, RequireRole
from gatehouse.shared.principal import Principal

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"], route_class=JsonRoute)
admin_router = APIRouter(prefix="/api/v1/admin", tags=["admin"], route_class=JsonRoute)

Admin = Annotated[Principal, RequireRole("admin")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="organizations_create",
    summary="Create an organization; the caller becomes its owner",
    responses=problems(401, 413, 415, 422, 503),
)
@inject
async def create_organization(
    body: CreateOrganizationIn,
    principal: CurrentPrincipal,
    handler: CreateOrganizationHandler = Provide["organizations.create"],
) -> OrganizationOut:
    return OrganizationOut.of(await handler(CreateOrganization(body.name, principal.user_id)))


@router.get(
    "",
    operation_id="organizations_list",
    summary="The organizations the caller is a member of, newest first",
    responses=problems(401, 422, 503),
)
@inject
async def list_organizations(
    principal: CurrentPrincipal,
    before: Before,
    limit: Limit = 20,
    handler: ListMyOrganizationsHandler = Provide["organizations.list_mine"],
) -> OrganizationPageOut:
    page = await handler(ListMyOrganizations(principal.user_id, limit=limit, before=before))
    return OrganizationPageOut(
        items=[OrganizationOut.of(mine) for mine in page.items],
        next_cursor=next_cursor(page.next_before),
    )


@router.get(
    "/{organization_id}/members",
    operation_id="organizations_members_list",
    summary="The members of an organization the caller belongs to",
    responses=problems(401, 404, 422, 503),
)
@inject
async def list_members(
    organization_id: uuid.UUID,
    principal: CurrentPrincipal,
    before: Before,
    limit: Limit = 20,
    handler: ListMembersHandler = Provide["organizations.list_members"],
) -> MemberPageOut:
    """404 ``organization_not_found`` for a caller who is not a member."""
    query = ListMembers(organization_id, principal.user_id, limit=limit, before=before)
    page = await handler(query)
    return MemberPageOut(
        items=[MemberOut.of(member) for member in page.items],
        next_cursor=next_cursor(page.next_before),
    )


@router.post(
    "/{organization_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    operation_id="organizations_invite",
    summary="Invite an address by mail (owners only)",
    dependencies=[rate_limited("mail_request")],
    responses=problems(401, 403, 404, 413, 415, 422, 429, 503),
)
@inject
async def invite(
    organization_id: uuid.UUID,
    body: InviteIn,
    principal: CurrentPrincipal,
    locale: RequestLocale,
    handler: InviteMemberHandler = Provide["organizations.invite"],
) -> InvitationOut:
    """The address gets a link with a token that works once, for seven days. 403
    ``organization_owner_required`` for a member who is not an owner."""
    cmd = InviteMember(organization_id, body.email, Role(body.role), principal.user_id, locale)
    return InvitationOut.of(await handler(cmd))


@router.post(
    "/invitations/accept",
    operation_id="organizations_invitation_accept",
    summary="Accept an invitation sent to the caller's verified address",
    responses=problems(400, 401, 403, 409, 413, 415, 422, 503),
)
@inject
async def accept_invitation(
    body: AcceptInvitationIn,
    principal: CurrentPrincipal,
    handler: AcceptInvitationHandler = Provide["organizations.accept"],
) -> OrganizationOut:
    """400 ``token_invalid`` for an unknown, expired or used token; 403
    ``invitation_email_mismatch`` when it was sent to another address, ``email_not_verified``
    when the caller's address is not verified. A member keeps the role they have."""
    return OrganizationOut.of(await handler(AcceptInvitation(body.token, principal.user_id)))


@router.delete(
    "/{organization_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="organizations_member_remove",
    summary="Remove a member (owners), or leave (anyone, with their own id)",
    responses=problems(401, 403, 404, 422, 503),
)
@inject
async def remove_member(
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    principal: CurrentPrincipal,
    handler: RemoveMemberHandler = Provide["organizations.remove_member"],
) -> None:
    """When the last owner leaves, the member who joined first becomes owner; when the last
    member leaves, the organization is deleted."""
    await handler(RemoveMember(organization_id, user_id, principal.user_id))


@admin_router.get(
    "/organizations",
    operation_id="admin_organizations_list",
    summary="Every organization, newest first",
    responses=problems(401, 403, 422, 503),
)
@inject
async def admin_list_organizations(
    admin: Admin,  # noqa: ARG001 - the role check
    before: Before,
    limit: Limit = 20,
    handler: ListOrganizationsHandler = Provide["organizations.list_all"],
) -> AdminOrganizationPageOut:
    page = await handler(ListOrganizations(limit=limit, before=before))
    return AdminOrganizationPageOut(
        items=[AdminOrganizationOut.of(organization) for organization in page.items],
        next_cursor=next_cursor(page.next_before),
    )
