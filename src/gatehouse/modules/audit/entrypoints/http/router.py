"""HTTP routes of the audit module: the signed-in user's own security events."""

from __future__ import annotations

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends

from gatehouse.modules.audit.application.queries import ListAuditEvents, ListAuditEventsHandler
from gatehouse.modules.audit.entrypoints.http.schemas import AuditEventOut, AuditEventPageOut
from gatehouse.shared.http.di import Provide
from gatehouse.shared.http.pagination import Before, Limit, next_cursor
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.security import CurrentPrincipal

me_router = APIRouter(prefix="/api/v1/me/audit-events", tags=["me"], route_class=JsonRoute)


@me_router.get(
    "",
    operation_id="me_audit_events_list",
    summary="The signed-in user's security events (sign-ins, sessions ended, alerts), newest first",
    responses=problems(401, 422, 503),
)
@inject
async def list_audit_events(
    principal: CurrentPrincipal,
    before: Before,
    limit: Limit = 20,
    handler: ListAuditEventsHandler = Depends(Provide["audit.list_events"]),  # noqa: B008
) -> AuditEventPageOut:
    page = await handler(ListAuditEvents(principal.user_id, limit=limit, before=before))
    return AuditEventPageOut(
        items=[AuditEventOut.of(event) for event in page.items],
        next_cursor=next_cursor(page.next_before),
    )
