"""identities: provider accounts linked to users (social login)

Revision ID: be278b279d70
Revises: 9b0e4f3a1c27
Create Date: 2026-12-05 09:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "be278b279d70"
down_revision: str | None = "9b0e4f3a1c27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Keyed by (issuer, subject), never by email; one identity per user and provider. The
    # unique (user_id, provider) index also serves the user's list. Deleting the account
    # deletes its identities.
    op.create_table(
        "accounts_identity",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["accounts_user.id"],
            name=op.f("fk_accounts_identity_user_id_accounts_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_identity")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_accounts_identity_issuer_subject")),
        sa.UniqueConstraint(
            "user_id", "provider", name=op.f("uq_accounts_identity_user_id_provider")
        ),
    )


def downgrade() -> None:
    op.drop_table("accounts_identity")
