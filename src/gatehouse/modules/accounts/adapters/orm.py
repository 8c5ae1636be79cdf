"""Tables and imperative mappings of the accounts module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import composite

from gatehouse.modules.accounts.domain.identity import Identity
from gatehouse.modules.accounts.domain.model import (
    DisplayName,
    Email,
    MfaSummary,
    OneTimeToken,
    PasswordHash,
    TokenPurpose,
    User,
)
from gatehouse.shared.persistence import TextTuple, mapper_registry, metadata


class _ValueObjectText(TypeDecorator[Any]):
    """Stores a single-field value object as TEXT; ``None`` stays ``None``."""

    impl = Text
    cache_ok = True
    value_type: type[Any]

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value.value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.value_type(value)


class EmailType(_ValueObjectText):
    cache_ok = True
    value_type = Email


class DisplayNameType(_ValueObjectText):
    cache_ok = True
    value_type = DisplayName


class PasswordHashType(_ValueObjectText):
    cache_ok = True
    value_type = PasswordHash


class TokenPurposeType(TypeDecorator[TokenPurpose]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else TokenPurpose(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> TokenPurpose | None:
        return None if value is None else TokenPurpose(value)


user_table = Table(
    "accounts_user",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("email", EmailType, nullable=False, unique=True),
    Column("password_hash", PasswordHashType),
    Column("display_name", DisplayNameType),
    Column("email_verified_at", DateTime(timezone=True)),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("roles", TextTuple, nullable=False, server_default=text("'{user}'")),
    Column("locale", Text),  # of the mails; None: the request's Accept-Language
    # MfaSummary: a copy of the auth module's factors, which it keeps current.
    Column("mfa_totp", Boolean, nullable=False, server_default=text("false")),
    Column("mfa_email", Boolean, nullable=False, server_default=text("false")),
    Column("mfa_backup_codes", Integer, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The admin user list (GET /admin/users): its order and its prefix search. The migration
# (2026-11-23_admin_user_search) builds both with COLLATE "C", byte-wise, so that a prefix is
# one contiguous range of the index, in order, whatever the database's collation. Reflection
# does not report an index column's collation, so the collation is left out here, or
# `alembic check` would see a difference that is not there.
Index("ix_accounts_user_email_c", user_table.c.email)
Index("ix_accounts_user_display_name_c", func.lower(user_table.c.display_name), user_table.c.id)

one_time_token_table = Table(
    "accounts_one_time_token",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "user_id",
        UUID(as_uuid=True),
        ForeignKey("accounts_user.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("purpose", TokenPurposeType, nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("new_email", EmailType),  # change_email: the address being confirmed
    Column("code_hash", LargeBinary),  # the short code mailed beside the link, if any
    Column("code_attempts", Integer, nullable=False, server_default=text("0")),
    Index("ix_accounts_one_time_token_user_purpose", "user_id", "purpose"),
)

# Social login's links: one per provider account (issuer, subject), one per user and provider.
# The account's deletion takes them along (ON DELETE CASCADE).
identity_table = Table(
    "accounts_identity",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "user_id",
        UUID(as_uuid=True),
        ForeignKey("accounts_user.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("provider", Text, nullable=False),
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("email", Text),  # what the provider said last, for display
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    UniqueConstraint("issuer", "subject"),
    UniqueConstraint("user_id", "provider"),
)

UNIQUE_EMAIL = "uq_accounts_user_email"
UNIQUE_IDENTITY = "uq_accounts_identity_issuer_subject"
UNIQUE_USER_PROVIDER = "uq_accounts_identity_user_id_provider"


def start_mappers() -> None:
    """Map the domain classes onto the tables. Idempotent."""
    if getattr(User, "__mapper__", None) is not None:
        return
    c = user_table.c
    mapper_registry.map_imperatively(
        User,
        user_table,
        properties={"mfa": composite(MfaSummary, c.mfa_totp, c.mfa_email, c.mfa_backup_codes)},
    )
    mapper_registry.map_imperatively(OneTimeToken, one_time_token_table)
    mapper_registry.map_imperatively(Identity, identity_table)
