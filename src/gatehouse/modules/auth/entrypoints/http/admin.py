"""Auth's part of the admin API (``/api/v1/admin``, role ``admin``): a user's sessions."""

from __future__ import annotations

import uuid
from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, status

from gatehouse.modules.accounts.application.public import AccountDirectory, UserNotFound
from gatehouse.modules.auth.application.sessions import EndAllSessions, EndAllSessionsHandler
from gatehouse.shared.http.di import Provide
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.security import Client, RequireRole
from gatehouse.shared.principal import Principal

admin_router = APIRouter(prefix="/api/v1/admin", tags=["admin"], route_class=JsonRoute)

Admin = Annotated[Principal, RequireRole("admin")]


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
    accounts: AccountDirectory = Depends(Provide["auth.accounts"]),  # noqa: B008
    handler: EndAllSessionsHandler = Depends(Provide["auth.end_all_sessions"]),  # noqa: B008
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
