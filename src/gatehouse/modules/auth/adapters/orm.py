"""Tables and mappings of the auth module.

``user_id`` deliberately has no foreign key into accounts' table: modules own their tables.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import INET, UUID

from gatehouse.modules.auth.domain.model import RefreshToken, Session
from gatehouse.shared.persistence import TextTuple, mapper_registry, metadata

session_table = Table(
    "auth_session",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=False),
    Column("idle_expires_at", DateTime(timezone=True), nullable=False),
    Column("absolute_expires_at", DateTime(timezone=True), nullable=False),
    Column("user_agent", Text),
    Column("ip", INET),
    Column("amr", TextTuple, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoke_reason", Text),
    Index("ix_auth_session_user_id", "user_id"),
    # The denylist's rebuild and its periodic sync read recent revocations.
    Index(
        "ix_auth_session_revoked_at", "revoked_at", postgresql_where=text("revoked_at IS NOT NULL")
    ),
)

refresh_token_table = Table(
    "auth_refresh_token",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column(
        "session_id",
        UUID(as_uuid=True),
        ForeignKey("auth_session.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("generation", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True)),
    Index("ix_auth_refresh_token_session_id", "session_id"),
)


def start_mappers() -> None:
    if getattr(Session, "__mapper__", None) is None:
        mapper_registry.map_imperatively(Session, session_table)
        mapper_registry.map_imperatively(RefreshToken, refresh_token_table)
