"""webhook outbox: one row per security event and webhook endpoint

Revision ID: 5d1c7e9a2b40
Revises: 3f1c9a7e5b20
Create Date: 2026-12-05 09:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d1c7e9a2b40"
down_revision: str | None = "3f1c9a7e5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The delivery columns and the partial index on due rows are the mail outbox's; the payload
    # is text, the JSON exactly as signed (JSONB would reorder it).
    op.create_table(
        "notifications_webhook_outbox",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications_webhook_outbox")),
    )
    op.create_index(
        "ix_notifications_webhook_outbox_due",
        "notifications_webhook_outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_notifications_webhook_outbox_due",
        table_name="notifications_webhook_outbox",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("notifications_webhook_outbox")
