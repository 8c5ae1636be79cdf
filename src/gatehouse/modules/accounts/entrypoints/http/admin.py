"""Accounts' part of the admin API (``/api/v1/admin``, role ``admin``)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gatehouse.modules.accounts.application.administration import UpdateUser, UpdateUserHandler
from gatehouse.modules.accounts.application.import_users import (
    ImportedUser,
    ImportUsers,
    ImportUsersHandler,
)
from gatehouse.modules.accounts.application.user_list import (
    ListUsers,
    ListUsersHandler,
    UserListPosition,
)
from gatehouse.modules.accounts.entrypoints.http.schemas import (
    AdminUpdateUserIn,
    AdminUserOut,
    AdminUserPageOut,
    ImportUsersIn,
    ImportUsersOut,
    SkippedUserOut,
)
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.pagination import InvalidCursor, Limit
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.security import Client, RequireRole, StepUpRequired
from gatehouse.shared.principal import Principal

admin_router = APIRouter(prefix="/api/v1/admin", tags=["admin"], route_class=JsonRoute)

Admin = Annotated[Principal, RequireRole("admin")]


def _encode_position(position: UserListPosition | None) -> str | None:
    if position is None:
        return None
    raw = json.dumps([int(position.by_name), position.key, position.id.hex], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def _after(
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> UserListPosition | None:
    """The opaque ``cursor`` a previous page of the user list returned: 422 otherwise."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        part, key, id_hex = json.loads(raw.decode())
        if part not in (0, 1) or not isinstance(key, str) or not isinstance(id_hex, str):
            raise InvalidCursor
        return UserListPosition(by_name=part == 1, key=key, id=uuid.UUID(hex=id_hex))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise InvalidCursor from None


@admin_router.get(
    "/users",
    operation_id="admin_list_users",
    summary="Users a page at a time, or those whose email or display name begins with q",
    responses=problems(401, 403, 422, 429, 503),
)
@inject
async def list_users(
    *,
    admin: Admin,  # noqa: ARG001 - the role check
    q: Annotated[str | None, Query(max_length=254, description="email or name prefix")] = None,
    after: Annotated[UserListPosition | None, Depends(_after)],
    limit: Limit = 20,
    handler: ListUsersHandler = Provide["accounts.list_users"],
) -> AdminUserPageOut:
    """Without ``q``: every user, by email. With ``q``: the users whose normalised email
    begins with it, by email, then those whose display name begins with it (case-insensitively)
    and whose email does not, by name. Both are index range scans; ``%`` and ``_`` in ``q``
    are plain characters. Pages continue with ``next_cursor`` (``null`` on the last page);
    rows added meanwhile never make a row repeat or be skipped."""
    if q is None and after is not None and after.by_name:
        raise InvalidCursor  # a search's cursor: this list has no name part
    page = await handler(ListUsers(q=q, limit=limit, after=after))
    return AdminUserPageOut(
        items=[AdminUserOut.of(view) for view in page.items],
        next_cursor=_encode_position(page.next_after),
    )


@admin_router.patch(
    "/users/{user_id}",
    operation_id="admin_update_user",
    summary="Enable or disable a user, set their roles, vouch for their address",
    responses=problems(401, 403, 404, 409, 413, 415, 422, 429, 503),
)
@inject
async def update_user(
    user_id: uuid.UUID,
    body: AdminUpdateUserIn,
    *,
    admin: Admin,
    step_up: StepUpRequired,
    client: Client,
    handler: UpdateUserHandler = Provide["accounts.update_user"],
) -> AdminUserOut:
    """Only the fields sent change. Disabling ends every session of the user at once, refresh
    included; changing ``roles`` ends them too (roles travel in access tokens) and needs your
    ``password`` or an MFA ``code`` in the body. You cannot disable yourself or change your own
    roles (409). Each change is an audit event naming you."""
    proof = None
    if body.roles is not None:  # the body carries the proof then (AdminUpdateUserIn)
        proof = await step_up(password=body.password, code=body.code)
    view = await handler(
        UpdateUser(
            admin_id=admin.user_id,
            user_id=user_id,
            is_active=body.is_active,
            roles=None if body.roles is None else tuple(body.roles),
            email_verified=body.email_verified,
            proof=proof,
            ip=client.ip,
            user_agent=client.user_agent,
        )
    )
    return AdminUserOut.of(view)


@admin_router.post(
    "/users/import",
    operation_id="admin_import_users",
    summary="Import users from another system, with their password hashes",
    responses=problems(401, 403, 413, 415, 422, 429, 503),
)
@inject
async def import_users(
    body: ImportUsersIn,
    *,
    admin: Admin,
    client: Client,
    handler: ImportUsersHandler = Provide["accounts.import_users"],
) -> ImportUsersOut:
    """At most 1000 users a call. Each is created, or skipped with its reason: `already
    exists` (importing the same users again creates nothing), `duplicate in this request` (the
    first one wins), `invalid email`, a malformed or unsupported `password_hash`, an unknown
    role, or the `admin` role (grant it with PATCH). Imported hashes are checked at sign-in and
    replaced by the house scheme on the first success; no mail is sent. One audit event
    `admin.users_imported` names you and counts the result."""
    result = await handler(
        ImportUsers(
            users=tuple(
                ImportedUser(
                    email=user.email,
                    email_verified=user.email_verified,
                    display_name=user.display_name,
                    roles=tuple(user.roles),
                    password_hash=user.password_hash,
                )
                for user in body.users
            ),
            admin_id=admin.user_id,
            ip=client.ip,
            user_agent=client.user_agent,
        )
    )
    return ImportUsersOut(
        created=result.created,
        skipped=[SkippedUserOut(email=s.email, reason=s.reason) for s in result.skipped],
    )
