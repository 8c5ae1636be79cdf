"""The signed-in user's own security events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from gatehouse.modules.audit.application.ports import AuditEventViews
from gatehouse.modules.audit.domain.model import AuditEvent
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
        events = await self._views.for_user(
            query.user_id, limit=query.limit + 1, before=query.before
        )
        return page_of(events, query.limit, lambda event: event.id)
