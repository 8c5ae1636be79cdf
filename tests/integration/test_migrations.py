"""Migrations: every step can go down and up again, and the models match the migrated schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from gatehouse.main import modules
from gatehouse.shared.persistence import metadata
from gatehouse.testing.aio import run_coroutine
from gatehouse.testing.databases import create_database, drop_database, unique_name
from gatehouse.testing.infra import Infra
from tests.support import migrations

assert modules.TABLE_MODULES  # every module's tables are on the metadata, as in env.py


@pytest.fixture
def empty_database(infra: Infra) -> Iterator[str]:
    """A fresh database with no schema at all, dropped afterwards."""
    name = unique_name("gh_migrations")
    url = run_coroutine(lambda: create_database(infra.admin_database_url, name))
    yield url
    run_coroutine(lambda: drop_database(infra.admin_database_url, name))


async def _schema(url: str) -> dict[str, Any]:
    """Tables with their columns, indexes and constraints, comparable across runs."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_inspect)
    finally:
        await engine.dispose()


def _inspect(conn: Connection) -> dict[str, Any]:
    inspector = inspect(conn)
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        schema[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "indexes": sorted(str(sorted(i.items())) for i in inspector.get_indexes(table)),
            "unique": sorted(str(u["name"]) for u in inspector.get_unique_constraints(table)),
            "foreign_keys": sorted(str(f["name"]) for f in inspector.get_foreign_keys(table)),
            "primary_key": inspector.get_pk_constraint(table)["name"],
        }
    return schema


async def _current_revision(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
            if not exists:
                return None
            value = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            return None if value is None else str(value)
    finally:
        await engine.dispose()


def test_every_migration_can_be_undone_and_redone(empty_database: str) -> None:
    """The stairway: up to each revision, one step down, and up again, from an empty database."""
    steps = migrations.revisions_base_to_head()
    assert steps, "no migrations found"
    for revision, below in steps:
        migrations.upgrade(empty_database, revision)
        after_upgrade = run_coroutine(lambda: _schema(empty_database))
        assert run_coroutine(lambda: _current_revision(empty_database)) == revision

        migrations.downgrade(empty_database, below)
        expected_below = None if below == "base" else below
        assert run_coroutine(lambda: _current_revision(empty_database)) == expected_below

        migrations.upgrade(empty_database, revision)
        assert run_coroutine(lambda: _schema(empty_database)) == after_upgrade, revision

    migrations.downgrade(empty_database, "base")
    leftover = set(run_coroutine(lambda: _schema(empty_database))) - {"alembic_version"}
    assert leftover == set(), "downgrading to base left tables behind"


async def test_the_migrated_schema_matches_the_models(infra: Infra) -> None:
    """What ``alembic check`` checks (same compare options as env.py), with a readable diff."""
    engine = create_async_engine(infra.database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync, opts={"compare_type": True, "compare_server_default": True}
                    ),
                    metadata,
                )
            )
    finally:
        await engine.dispose()

    assert diff == []


def test_alembic_check_through_env_py_finds_nothing_to_generate(infra: Infra) -> None:
    """The real ``alembic check``, through env.py, on this worker's database (at head)."""
    assert run_coroutine(lambda: _current_revision(infra.database_url)) == (
        migrations.head_revision()
    )
    migrations.check(infra.database_url)


async def test_identities_are_unique_by_provider_account_and_by_user_and_go_with_the_user(
    infra: Infra,
) -> None:
    """The constraints the adapter translates by name, and the cascade account deletion
    relies on, as the migration made them (autogenerate does not compare ``ON DELETE``)."""
    engine = create_async_engine(infra.database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT conname, contype::text, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'accounts_identity'::regclass ORDER BY conname"
                )
            )
            constraints = {name: (kind, definition) for name, kind, definition in rows}
    finally:
        await engine.dispose()

    assert constraints == {
        "fk_accounts_identity_user_id_accounts_user": (
            "f",
            "FOREIGN KEY (user_id) REFERENCES accounts_user(id) ON DELETE CASCADE",
        ),
        "pk_accounts_identity": ("p", "PRIMARY KEY (id)"),
        "uq_accounts_identity_issuer_subject": ("u", "UNIQUE (issuer, subject)"),
        "uq_accounts_identity_user_id_provider": ("u", "UNIQUE (user_id, provider)"),
    }


async def test_organizations_rows_go_with_their_organization_and_name_users_without_a_key(
    infra: Infra,
) -> None:
    """Memberships and invitations cascade from their organization; neither has a foreign key
    into accounts (an account's deletion reaches them as an event). Autogenerate compares
    neither ``ON DELETE`` nor a missing key, so this checks the migration itself."""
    engine = create_async_engine(infra.database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE contype = 'f' AND conrelid::regclass::text LIKE 'organizations_%'"
                    " ORDER BY 1"
                )
            )
            keys = [tuple(row) for row in rows]
    finally:
        await engine.dispose()

    to_organization = (
        "FOREIGN KEY (organization_id) REFERENCES organizations_organization(id) ON DELETE CASCADE"
    )
    assert keys == [
        ("organizations_invitation", to_organization),
        ("organizations_membership", to_organization),
    ]
