"""The read side of accounts: one prepared primary-key query on the raw asyncpg pool."""

from __future__ import annotations

import uuid

from gatehouse.modules.accounts.application.views import UserView, UserViews
from gatehouse.modules.accounts.domain.model import MfaSummary
from gatehouse.shared.pg import ReadPool

_BY_ID = (
    "SELECT id, email, email_verified_at IS NOT NULL AS email_verified, display_name, roles, "
    "is_active, created_at, locale, mfa_totp, mfa_email, mfa_backup_codes "
    "FROM accounts_user WHERE id = $1"
)


class AsyncpgUserViews(UserViews):
    def __init__(self, pool: ReadPool) -> None:
        self._pool = pool

    async def get(self, user_id: uuid.UUID) -> UserView | None:
        row = await self._pool.fetchrow(_BY_ID, user_id)
        if row is None:
            return None
        return UserView(
            id=row["id"],
            email=row["email"],
            email_verified=row["email_verified"],
            display_name=row["display_name"],
            roles=tuple(row["roles"]),
            is_active=row["is_active"],
            created_at=row["created_at"],
            locale=row["locale"],
            mfa=MfaSummary(row["mfa_totp"], row["mfa_email"], row["mfa_backup_codes"]),
        )
