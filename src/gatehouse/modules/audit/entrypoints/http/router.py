"""HTTP routes of the audit module: the signed-in user's own security events, and every
user's for an administrator."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from gatehouse.modules.audit.application.ports import AuditFilter
from gatehouse.modules.audit.application.queries import (
    ListAuditEvents,
    ListAuditEventsHandler,
    SearchAuditEvents,
    SearchAuditEventsHandler,
)
from gatehouse.modules.audit.entrypoints.http.schemas import (
    AdminAuditEventOut,
    AdminAuditEventPageOut,
    AuditEventOut,
    AuditEventPageOut,
)
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.pagination import Before, Limit, next_cursor
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.security import CurrentPrincipal, RequireRole

me_router = APIRouter(prefix="/api/v1/me/audit-events", tags=["me"], route_class=JsonRoute)
admin_router = APIRouter(prefix="/api/v1/admin/audit-events", tags=["admin"], route_class=JsonRoute)


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
    handler: ListAuditEventsHandler = Provide["audit.list_events"],
) -> AuditEventPageOut:
    page = await handler(ListAuditEvents(principal.user_id, limit=limit, before=before))
    return AuditEventPageOut(
        items=[AuditEventOut.of(event) for event in page.items],
        next_cursor=next_cursor(page.next_before),
    )


@admin_router.get(
    "",
    operation_id="admin_audit_events_list",
    summary="Every user's security events, newest first, filtered",
    dependencies=[RequireRole("admin")],
    responses=problems(401, 403, 422, 503),
)
@inject
async def search_audit_events(
    before: Before,
    *,
    user_id: uuid.UUID | None = None,
    type: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+\.[a-z_]+$")] = None,  # noqa: A002
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 20,
    handler: SearchAuditEventsHandler = Provide["audit.search_events"],
) -> AdminAuditEventPageOut:
    """Filters narrow the list: ``user_id``, ``type`` (e.g. ``auth.signed_in``), and a time
    range (``since`` inclusive, ``until`` exclusive, ISO 8601 with a time zone). Pages as every
    list does (``limit``, ``cursor``)."""
    where = AuditFilter(user_id=user_id, type=type, since=since, until=until)
    page = await handler(SearchAuditEvents(where, limit=limit, before=before))
    return AdminAuditEventPageOut(
        items=[AdminAuditEventOut.of(event) for event in page.items],
        next_cursor=next_cursor(page.next_before),
    )
