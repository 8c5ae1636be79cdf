"""The organizations module's tables and their imperative mappings.

Users are referred to by id without a foreign key into accounts' table: accounts' schema is
its own, and an account's deletion reaches these rows through the ``AccountDeleted`` event
(``adapters/events.py``), in the same transaction. Inside the module, memberships and
invitations go with their organization (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    LargeBinary,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import UUID

from gatehouse.modules.organizations.domain.model import (
    Invitation,
    Membership,
    Organization,
    Role,
)
from gatehouse.shared.persistence import mapper_registry, metadata


class RoleType(TypeDecorator[Role]):
    """``Role`` stored as its text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else Role(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> Role | None:
        return None if value is None else Role(value)


def _organization_fk() -> ForeignKey:
    """Memberships and invitations go with their organization."""
    return ForeignKey("organizations_organization.id", ondelete="CASCADE")


organization_table = Table(
    "organizations_organization",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

membership_table = Table(
    "organizations_membership",
    metadata,
    Column("organization_id", UUID(as_uuid=True), _organization_fk(), primary_key=True),
    Column("user_id", UUID(as_uuid=True), primary_key=True),  # accounts' user, no foreign key
    Column("role", RoleType, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # A user's organizations (GET /organizations, the account's deletion).
    Index("ix_organizations_membership_user_id", "user_id", "organization_id"),
)

invitation_table = Table(
    "organizations_invitation",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), _organization_fk(), nullable=False),
    Column("email", Text, nullable=False),
    Column("role", RoleType, nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("invited_by", UUID(as_uuid=True), nullable=False),  # accounts' user, no foreign key
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True)),
    Index("ix_organizations_invitation_organization_id", "organization_id"),
    Index("ix_organizations_invitation_invited_by", "invited_by"),
)

MEMBERSHIP_PRIMARY_KEY = "pk_organizations_membership"


def start_mappers() -> None:
    """Map the domain classes onto the tables. Idempotent."""
    if getattr(Organization, "__mapper__", None) is not None:
        return
    mapper_registry.map_imperatively(Organization, organization_table)
    mapper_registry.map_imperatively(Membership, membership_table)
    mapper_registry.map_imperatively(Invitation, invitation_table)
