"""Auth's part of the admin API (``/api/v1/admin``, role ``admin``): a user's status and
sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, status

from gatehouse.modules.accounts.application.public import AccountDirectory, UserNotFound
from gatehouse.modules.auth.application.sessions import EndAllSessions, EndAllSessionsHandler
from gatehouse.modules.auth.application.user_status import GetUserStatusHandler, UserStatus
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.schemas import OutSchema
from gatehouse.shared.http.security import Client, RequireRole
from gatehouse.shared.principal import Principal

admin_router = APIRouter(prefix="/api/v1/admin", tags=["admin"], route_class=JsonRoute)

Admin = Annotated[Principal, RequireRole("admin")]


class MfaStatusOut(OutSchema):
    totp: bool
    email: bool
    backup_codes_remaining: int


class SessionStatusOut(OutSchema):
    active: int
    last_sign_in: datetime | None


class UserStatusOut(OutSchema):
    id: uuid.UUID
    email: str
    email_verified: bool
    display_name: str | None
    roles: list[str]
    is_active: bool
    created_at: datetime
    mfa: MfaStatusOut
    sessions: SessionStatusOut
    identities: list[str]

    @classmethod
    def of(cls, status: UserStatus) -> UserStatusOut:
        profile, account = status.profile, status.profile.account
        return cls(
            id=account.user_id,
            email=account.email,
            email_verified=account.email_verified,
            display_name=profile.display_name,
            roles=list(account.roles),
            is_active=account.is_active,
            created_at=profile.created_at,
            mfa=MfaStatusOut(
                totp=profile.mfa.totp,
                email=profile.mfa.email,
                backup_codes_remaining=profile.mfa.backup_codes_remaining,
            ),
            sessions=SessionStatusOut(
                active=status.sessions.active, last_sign_in=status.sessions.last_sign_in
            ),
            identities=list(status.profile.identities),
        )


@admin_router.get(
    "/users/{user_id}",
    operation_id="admin_get_user",
    summary="A user's status: account, second factors, sessions, linked identities",
    dependencies=[RequireRole("admin")],
    responses=problems(401, 403, 404, 422, 503),
)
@inject
async def get_user(
    user_id: uuid.UUID,
    handler: GetUserStatusHandler = Provide["auth.user_status"],
) -> UserStatusOut:
    """Active, verified, roles, second factors, how many sessions are active and when the
    latest sign-in was, and the linked sign-in providers (none until social login)."""
    return UserStatusOut.of(await handler(user_id))


@admin_router.post(
    "/users/{user_id}/sessions/revoke",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="admin_revoke_user_sessions",
    summary="End every session of a user",
    responses=problems(401, 403, 404, 503),
)
@inject
async def revoke_user_sessions(
    user_id: uuid.UUID,
    admin: Admin,
    client: Client,
    accounts: AccountDirectory = Provide["auth.accounts"],
    handler: EndAllSessionsHandler = Provide["auth.end_all_sessions"],
) -> None:
    """Every session of the user ends at once: their access tokens are refused from the next
    request and their refresh tokens no longer work. They can sign in again (disable the
    account to stop that). An audit event names you."""
    if await accounts.get(user_id) is None:
        raise UserNotFound
    await handler(
        EndAllSessions(
            user_id,
            "admin_revoked",
            by=admin.user_id,
            ip=client.ip,
            user_agent=client.user_agent,
        )
    )
