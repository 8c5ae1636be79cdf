"""A ``SessionRevocations`` that never finds a session revoked: Gatehouse without the check.

Only for the bench's "(c) Gatehouse, no revocation check" variant, the baseline the per-request
revocation check is held to (issue 3: at most 15 % slower). Never use it anywhere else: revoked
sessions' access tokens stay valid until they expire.
"""

from __future__ import annotations

import uuid


class NoRevocations:
    async def is_revoked(self, session_id: uuid.UUID) -> bool:
        return False

    async def revoked(self, session_ids: list[uuid.UUID]) -> None:
        return None

    async def sync(self, interval_seconds: float) -> int:
        return 0
