"""What other modules may use of accounts: check credentials, look an account up.

The auth module signs users in through this facade; it never touches accounts' tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from gatehouse.modules.accounts.domain.errors import EmailNotVerified, InvalidCredentials

__all__ = ["AccountDirectory", "AccountSnapshot", "EmailNotVerified", "InvalidCredentials"]


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    user_id: uuid.UUID
    email: str
    roles: tuple[str, ...]
    is_active: bool
    email_verified: bool
    locale: str | None = None  # the language of the account's mails, when saved


class AccountDirectory(Protocol):
    async def authenticate(self, email: str, password: str) -> AccountSnapshot:
        """Return the account for these credentials.

        Raises ``InvalidCredentials`` for an unknown address, a wrong password, a disabled or
        a social-only account, all in the same time; ``EmailNotVerified`` when the password is
        right but verification is required and missing.
        """
        ...

    async def get(self, user_id: uuid.UUID) -> AccountSnapshot | None: ...
