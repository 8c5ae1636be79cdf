"""What other modules may use of accounts: check credentials, look an account up, the events
accounts records for them to react to, and the one it handles for them (the account's copy of
its MFA state).

The auth module signs users in through this facade; it never touches accounts' tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gatehouse.modules.accounts.domain.errors import (
    EmailNotVerified,
    InvalidCredentials,
    ReauthFailed,
    UserNotFound,
)
from gatehouse.modules.accounts.domain.events import (
    AccountDeleted,
    AccountDisabled,
    MfaSummaryChanged,
    PasswordChanged,
    RolesChanged,
)
from gatehouse.modules.accounts.domain.model import Email, MfaSummary

__all__ = [
    "AccountDeleted",
    "AccountDirectory",
    "AccountDisabled",
    "AccountProfile",
    "AccountSnapshot",
    "EmailNotVerified",
    "InvalidCredentials",
    "MfaSummary",
    "MfaSummaryChanged",
    "PasswordChanged",
    "ReauthFailed",
    "RolesChanged",
    "UserNotFound",
    "normalise_email",
]


def normalise_email(raw: str) -> str:
    """An address as accounts compares it (trimmed, NFKC, lower-case): what an account is
    known by, for another module's bookkeeping (auth's lockout counts per account)."""
    return Email.normalise(raw)


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    user_id: uuid.UUID
    email: str
    roles: tuple[str, ...]
    is_active: bool
    email_verified: bool
    locale: str | None = None  # the language of the account's mails, when saved


@dataclass(frozen=True, slots=True)
class AccountProfile:
    """The account as an administrator sees it (``GET /admin/users/{id}``)."""

    account: AccountSnapshot
    display_name: str | None
    created_at: datetime
    mfa: MfaSummary


class AccountDirectory(Protocol):
    async def authenticate(self, email: str, password: str) -> AccountSnapshot:
        """Return the account for these credentials.

        Raises ``InvalidCredentials`` for an unknown address, a wrong password, a disabled or
        a social-only account, all in the same time; ``EmailNotVerified`` when the password is
        right but verification is required and missing.
        """
        ...

    async def reauthenticate(self, user_id: uuid.UUID, password: str) -> AccountSnapshot:
        """The signed-in user proves the password again (step-up). Raises ``ReauthFailed``
        (403 ``reauth_failed``) for a wrong one, after the same work as a right one."""
        ...

    async def get(self, user_id: uuid.UUID) -> AccountSnapshot | None:
        """From the read side: one primary-key read, no aggregate (hot paths use it)."""
        ...

    async def profile(self, user_id: uuid.UUID) -> AccountProfile | None:
        """The same read, with what an administrator is shown besides."""
        ...
