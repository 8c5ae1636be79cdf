"""What auth records for itself: facts whose effects reach past the transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from gatehouse.shared.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionsEnded(DomainEvent):
    """These sessions ended in this transaction. Once it commits, their access tokens are
    denylisted (Redis), so they are refused at once rather than when they expire."""

    session_ids: tuple[uuid.UUID, ...]
