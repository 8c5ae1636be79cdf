"""What other modules may use of auth: end a user's sessions inside their own transaction.

A module that changes credentials (a password reset, an account deletion) ends the user's
sessions in the same transaction as the change, through ``SessionTerminator``; after the commit
it hands the ended ids to ``SessionDenylist``, so their access tokens are refused at once.
"""

from __future__ import annotations

import uuid
from typing import Protocol


class SessionTerminator(Protocol):
    async def end_all(
        self, user_id: uuid.UUID, reason: str, *, keep: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """End every active session of the user but ``keep``, and every sign-in halfway
        through (open ``mfa_token``s, an emailed code); return the ended sessions' ids."""
        ...

    async def forget(self, user_id: uuid.UUID) -> None:
        """Erase what the user's sessions recorded about them (IP, user agent) and every MFA
        factor, backup code and challenge. Session rows stay, ended, until they expire: the
        revocation check still finds them."""
        ...


class SessionDenylist(Protocol):
    async def revoked(self, session_ids: list[uuid.UUID]) -> None:
        """After the commit: refuse these sessions' access tokens from now on."""
        ...
