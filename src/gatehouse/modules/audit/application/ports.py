"""Ports of the audit module."""

from __future__ import annotations

import uuid
from typing import Protocol

from gatehouse.modules.audit.domain.model import AuditEvent


class AuditEventViews(Protocol):
    async def for_user(
        self, user_id: uuid.UUID, *, limit: int, before: uuid.UUID | None
    ) -> list[AuditEvent]:
        """The user's events, newest first, ``limit`` of them, older than ``before`` if given."""
        ...
