"""What other modules may use of notifications: queue a mail inside their own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A mail to render from a named template and send later, at least once."""

    to: str
    template: str
    params: Mapping[str, str] = field(default_factory=dict)
    locale: str = "en"


class MailOutbox(Protocol):
    async def enqueue(self, mail: OutgoingMail) -> None:
        """Record the mail in the caller's transaction; it is sent only if that commits."""
        ...
