"""Security events: the signed-in user's own, and any user's for an administrator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from gatehouse.modules.audit.application.ports import AuditEventViews, AuditFilter
from gatehouse.modules.audit.domain.model import AuditEvent
from gatehouse.shared.errors import InvalidInput
from gatehouse.shared.pagination import Page, page_of


@dataclass(frozen=True, slots=True)
class ListAuditEvents:
    user_id: uuid.UUID
    limit: int = 20
    before: uuid.UUID | None = None


class ListAuditEventsHandler:
    def __init__(self, views: AuditEventViews) -> None:
        self._views = views

    async def __call__(self, query: ListAuditEvents) -> Page[AuditEvent]:
        where = AuditFilter(user_id=query.user_id)
        events = await self._views.search(where, limit=query.limit + 1, before=query.before)
        return page_of(events, query.limit, lambda event: event.id)


@dataclass(frozen=True, slots=True)
class SearchAuditEvents:
    """An administrator's query over every user's events."""

    where: AuditFilter
    limit: int = 20
    before: uuid.UUID | None = None


class SearchAuditEventsHandler:
    def __init__(self, views: AuditEventViews) -> None:
        self._views = views

    async def __call__(self, query: SearchAuditEvents) -> Page[AuditEvent]:
        where = query.where
        if where.since is not None and where.until is not None and where.since >= where.until:
            raise InvalidInput("since must be before until", field="since")
        events = await self._views.search(where, limit=query.limit + 1, before=query.before)
        return page_of(events, query.limit, lambda event: event.id)
