"""admin user search: byte-wise indexes on the email and the lower-cased display name

Revision ID: 9b0e4f3a1c27
Revises: 5da5c402a127
Create Date: 2026-11-23 09:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9b0e4f3a1c27"
down_revision: str | None = "5da5c402a127"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # GET /admin/users: ORDER BY / prefix ranges on these expressions, COLLATE "C" so a
    # prefix is one contiguous range whatever the database's collation.
    op.create_index(
        "ix_accounts_user_email_c",
        "accounts_user",
        [sa.text('email COLLATE "C"')],
        unique=False,
    )
    op.create_index(
        "ix_accounts_user_display_name_c",
        "accounts_user",
        [sa.text('lower(display_name) COLLATE "C"'), "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_accounts_user_display_name_c", table_name="accounts_user")
    op.drop_index("ix_accounts_user_email_c", table_name="accounts_user")
