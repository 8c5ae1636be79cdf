"""mfa: factors, backup codes, sign-in challenges; the account's MFA summary

Revision ID: 5da5c402a127
Revises: 36d187fd2c1e
Create Date: 2026-11-22 02:54:55.493211+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5da5c402a127"
down_revision: str | None = "36d187fd2c1e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_mfa",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("totp_secret", sa.Text(), nullable=True),
        sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("totp_pending_secret", sa.Text(), nullable=True),
        sa.Column("totp_pending_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_code_hash", sa.LargeBinary(), nullable=True),
        sa.Column("email_code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_code_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_auth_mfa")),
    )
    op.create_table(
        "auth_mfa_backup_code",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "code_hash", name=op.f("pk_auth_mfa_backup_code")),
    )
    op.create_table(
        "auth_mfa_challenge",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("amr", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_mfa_challenge")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_mfa_challenge_token_hash")),
    )
    op.create_index(
        "ix_auth_mfa_challenge_user_id", "auth_mfa_challenge", ["user_id"], unique=False
    )
    op.add_column(
        "accounts_user",
        sa.Column("mfa_totp", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "accounts_user",
        sa.Column("mfa_email", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "accounts_user",
        sa.Column("mfa_backup_codes", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("accounts_user", "mfa_backup_codes")
    op.drop_column("accounts_user", "mfa_email")
    op.drop_column("accounts_user", "mfa_totp")
    op.drop_index("ix_auth_mfa_challenge_user_id", table_name="auth_mfa_challenge")
    op.drop_table("auth_mfa_challenge")
    op.drop_table("auth_mfa_backup_code")
    op.drop_table("auth_mfa")
