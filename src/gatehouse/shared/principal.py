"""Who is calling: resolved from a bearer token by the auth module, used by every module."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    session_id: uuid.UUID
    roles: tuple[str, ...]
    amr: tuple[str, ...]
    token_id: str

    def has_role(self, role: str) -> bool:
        return role in self.roles


class PrincipalResolver(Protocol):
    async def resolve(self, access_token: str) -> Principal:
        """Return the principal for a valid access token or raise an ``Unauthenticated`` error."""
        ...
