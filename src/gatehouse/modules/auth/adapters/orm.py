"""Tables and mappings of the auth module.

``user_id`` deliberately has no foreign key into accounts' table: modules own their tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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

from gatehouse.modules.auth.domain.mfa import MfaChallenge, UserMfa
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


# One row per user with any MFA state: locked while one of its codes is checked.
mfa_table = Table(
    "auth_mfa",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("totp_secret", Text),  # sealed (SecretBox): "v<key version>:<Fernet token>"
    Column("totp_enabled_at", DateTime(timezone=True)),
    Column("totp_last_step", BigInteger),  # the newest accepted code's time step
    Column("totp_pending_secret", Text),  # sealed; awaiting its first code
    Column("totp_pending_expires_at", DateTime(timezone=True)),
    Column("email_enabled_at", DateTime(timezone=True)),
    Column("email_code_hash", LargeBinary),  # keyed hash (CodeHasher) of the newest code
    Column("email_code_expires_at", DateTime(timezone=True)),
    Column("email_code_attempts", Integer, nullable=False, server_default=text("0")),
)

backup_code_table = Table(
    "auth_mfa_backup_code",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("code_hash", LargeBinary, primary_key=True),  # keyed hash (CodeHasher)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

challenge_table = Table(
    "auth_mfa_challenge",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("token_hash", LargeBinary, nullable=False, unique=True),  # SHA-256 of the mfa_token
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("amr", TextTuple, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Index("ix_auth_mfa_challenge_user_id", "user_id"),
)


def start_mappers() -> None:
    if getattr(Session, "__mapper__", None) is None:
        mapper_registry.map_imperatively(Session, session_table)
        mapper_registry.map_imperatively(RefreshToken, refresh_token_table)
        mapper_registry.map_imperatively(UserMfa, mfa_table)
        mapper_registry.map_imperatively(MfaChallenge, challenge_table)
