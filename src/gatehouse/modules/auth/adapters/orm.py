"""Tables and mappings of the auth module.

``user_id`` deliberately has no foreign key into accounts' table: modules own their tables.
Account deletion ends sessions through the accounts → auth facade instead.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, LargeBinary, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY, INET, UUID

from gatehouse.modules.auth.domain.model import Session
from gatehouse.shared.persistence import mapper_registry, metadata

session_table = Table(
    "auth_session",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("refresh_token_hash", LargeBinary, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=False),
    Column("idle_expires_at", DateTime(timezone=True), nullable=False),
    Column("absolute_expires_at", DateTime(timezone=True), nullable=False),
    Column("user_agent", Text),
    Column("ip", INET),
    Column("amr", ARRAY(Text), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_auth_session_user_id", "user_id"),
)


def start_mappers() -> None:
    if getattr(Session, "__mapper__", None) is None:
        mapper_registry.map_imperatively(Session, session_table)
