"""organizations: organizations, their memberships and invitations (the example module)

Revision ID: 3f1c9a7e5b20
Revises: be278b279d70
Create Date: 2026-12-05 12:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f1c9a7e5b20"
down_revision: str | None = "be278b279d70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizations_organization",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations_organization")),
    )
    # user_id refers to accounts_user without a foreign key: accounts' AccountDeleted event
    # removes the rows in the deleting transaction (docs/adding-a-module.md explains why).
    op.create_table(
        "organizations_membership",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations_organization.id"],
            name=op.f("fk_organizations_membership_organization_id_organizations_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "user_id", name=op.f("pk_organizations_membership")
        ),
    )
    op.create_index(
        "ix_organizations_membership_user_id",
        "organizations_membership",
        ["user_id", "organization_id"],
    )
    op.create_table(
        "organizations_invitation",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("invited_by", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations_organization.id"],
            name=op.f("fk_organizations_invitation_organization_id_organizations_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_organizations_invitation_token_hash")),
    )
    op.create_index(
        "ix_organizations_invitation_organization_id",
        "organizations_invitation",
        ["organization_id"],
    )
    op.create_index(
        "ix_organizations_invitation_invited_by", "organizations_invitation", ["invited_by"]
    )


def downgrade() -> None:
    op.drop_table("organizations_invitation")
    op.drop_table("organizations_membership")
    op.drop_table("organizations_organization")
