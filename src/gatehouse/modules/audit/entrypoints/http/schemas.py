"""HTTP schemas of the audit module."""

from __future__ import annotations

import uuid
from datetime import datetime

from gatehouse.modules.audit.domain.model import AuditEvent
from gatehouse.shared.http.schemas import OutSchema


class AuditEventOut(OutSchema):
    id: uuid.UUID
    occurred_at: datetime
    type: str
    session_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    details: dict[str, str]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        return cls(
            id=event.id,
            occurred_at=event.occurred_at,
            type=event.type,
            session_id=event.session_id,
            ip=event.ip,
            user_agent=event.user_agent,
            details=dict(event.details),
        )


class AuditEventPageOut(OutSchema):
    items: list[AuditEventOut]
    next_cursor: str | None


class AdminAuditEventOut(AuditEventOut):
    user_id: uuid.UUID | None

    @classmethod
    def of(cls, event: AuditEvent) -> AdminAuditEventOut:
        return cls(**AuditEventOut.of(event).model_dump(), user_id=event.user_id)


class AdminAuditEventPageOut(OutSchema):
    items: list[AdminAuditEventOut]
    next_cursor: str | None
