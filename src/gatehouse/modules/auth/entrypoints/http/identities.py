"""``GET /me/identities``: the social accounts linked to the signed-in user.

Social login is not built yet, so no account has one: the list is empty, in the contract's
envelope, and answers like every other list (401 without a token, 422 for a bad ``limit`` or
``cursor``). Social login will fill it from auth's identities.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from gatehouse.shared.http.pagination import Before, Limit
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.schemas import OutSchema
from gatehouse.shared.http.security import CurrentPrincipal

identities_router = APIRouter(prefix="/api/v1/me/identities", tags=["me"], route_class=JsonRoute)


class IdentityOut(OutSchema):
    provider: str
    email: str | None
    created_at: datetime
    last_used_at: datetime | None


class IdentityPageOut(OutSchema):
    items: list[IdentityOut]
    next_cursor: str | None


@identities_router.get(
    "",
    operation_id="me_identities_list",
    summary="The social accounts linked to the signed-in user (none until social login)",
    responses=problems(401, 422, 503),
)
async def list_identities(
    principal: CurrentPrincipal,  # noqa: ARG001 - 401 without a valid token
    before: Before,  # noqa: ARG001 - 422 for a cursor this list never returned
    limit: Limit = 20,  # noqa: ARG001 - 422 outside 1..100
) -> IdentityPageOut:
    return IdentityPageOut(items=[], next_cursor=None)
