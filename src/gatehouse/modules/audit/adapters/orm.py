"""The audit module's one table. Append-only: a trigger (see the migration) refuses updates."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from gatehouse.shared.persistence import metadata

audit_event_table = Table(
    "audit_event",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("type", Text, nullable=False),
    # No foreign keys: an event outlives the account and the session it names.
    Column("user_id", UUID(as_uuid=True)),
    Column("session_id", UUID(as_uuid=True)),
    Column("ip", Text),
    Column("user_agent", Text),
    Column("details", JSONB, nullable=False),
    Index("ix_audit_event_user_id_id", "user_id", "id"),
    Index("ix_audit_event_type_id", "type", "id"),
)
