"""refresh token families

Revision ID: 140a560a30d7
Revises: c8cf2dd0df60
Create Date: 2026-11-21 23:34:33.377125+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "140a560a30d7"
down_revision: str | None = "c8cf2dd0df60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_refresh_token",
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_session.id"],
            name=op.f("fk_auth_refresh_token_session_id_auth_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_auth_refresh_token")),
    )
    op.create_index(
        "ix_auth_refresh_token_session_id", "auth_refresh_token", ["session_id"], unique=False
    )
    op.add_column(
        "auth_session",
        sa.Column("generation", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.alter_column("auth_session", "generation", server_default=None)
    op.add_column("auth_session", sa.Column("revoke_reason", sa.Text(), nullable=True))
    # Existing sessions keep working: their token becomes generation 0 of their family.
    op.execute(
        "INSERT INTO auth_refresh_token (token_hash, session_id, generation, created_at) "
        "SELECT refresh_token_hash, id, 0, last_used_at FROM auth_session"
    )
    op.drop_constraint(op.f("uq_auth_session_refresh_token_hash"), "auth_session", type_="unique")
    op.drop_column("auth_session", "refresh_token_hash")


def downgrade() -> None:
    op.add_column(
        "auth_session",
        sa.Column("refresh_token_hash", postgresql.BYTEA(), autoincrement=False, nullable=True),
    )
    # Each session keeps its live token; a session without one cannot be represented.
    op.execute(
        "UPDATE auth_session s SET refresh_token_hash = t.token_hash FROM auth_refresh_token t "
        "WHERE t.session_id = s.id AND t.generation = s.generation"
    )
    op.execute("DELETE FROM auth_session WHERE refresh_token_hash IS NULL")
    op.alter_column("auth_session", "refresh_token_hash", nullable=False)
    op.create_unique_constraint(
        op.f("uq_auth_session_refresh_token_hash"), "auth_session", ["refresh_token_hash"]
    )
    op.drop_column("auth_session", "revoke_reason")
    op.drop_column("auth_session", "generation")
    op.drop_index("ix_auth_refresh_token_session_id", table_name="auth_refresh_token")
    op.drop_table("auth_refresh_token")
