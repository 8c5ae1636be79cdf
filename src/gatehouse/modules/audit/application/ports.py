"""Ports of the audit module."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gatehouse.modules.audit.domain.model import AuditEvent


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which events: each field given narrows the list (``since`` inclusive, ``until`` not)."""

    user_id: uuid.UUID | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditEventViews(Protocol):
    async def search(
        self, where: AuditFilter, *, limit: int, before: uuid.UUID | None
    ) -> list[AuditEvent]:
        """Events matching ``where``, newest first, ``limit`` of them, older than ``before``
        (an event id) if given."""
        ...
