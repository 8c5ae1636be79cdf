"""Alembic environment: async engine, every module's tables, URL from the settings."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy import TypeDecorator
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.types import TypeEngine

from gatehouse.main.modules import TABLE_MODULES, start_mappers
from gatehouse.main.settings import Settings
from gatehouse.shared.persistence import metadata

assert TABLE_MODULES  # every module's tables are registered on the metadata
start_mappers()
config = context.config


def _url() -> str:
    url = config.attributes.get("url") or Settings().direct_database_url
    if not url:
        msg = (
            "set GATEHOUSE_DATABASE_URL (or GATEHOUSE_DATABASE_DIRECT_URL), or run 'gatehouse"
            " migrate' (it starts the embedded one)"
        )
        raise RuntimeError(msg)
    return str(url)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render value-object column types as their plain SQL type: migrations import no app code."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl if isinstance(obj.impl, TypeEngine) else obj.impl()
        return f"sa.{impl!r}"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=True,
        render_item=_render_item,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_configure)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
