"""The audit trail's one record: an immutable security event."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: uuid.UUID  # UUIDv7: ordered by time
    occurred_at: datetime
    type: str
    user_id: uuid.UUID | None
    session_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    details: Mapping[str, str]
