"""MFA adapters against the real servers: the factor row's concurrent creation, backup-code
spending, and the QR code document."""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.main.settings import Settings
from gatehouse.modules.auth.adapters.mfa_crypto import SegnoQrCodes
from gatehouse.modules.auth.adapters.mfa_repositories import SqlAlchemyMfaRepository

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def client(settings: Settings) -> AsyncIterator[redis.Redis]:
    assert settings.redis_url is not None
    connection = redis.Redis.from_url(settings.redis_url)
    yield connection
    await connection.aclose()


async def test_concurrent_first_uses_create_one_factor_row(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    user_id = uuid.uuid4()

    async def add() -> None:
        async with session_factory() as session, session.begin():
            mfa = await SqlAlchemyMfaRepository(session).get_or_add(user_id)
            mfa.enable_email(NOW)

    await asyncio.gather(add(), add(), add())
    async with session_factory() as session:
        mfa = await SqlAlchemyMfaRepository(session).get(user_id)
    assert mfa is not None
    assert mfa.email_enabled_at == NOW


async def test_a_backup_code_is_spent_once_and_a_new_set_voids_the_old(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    user_id = uuid.uuid4()
    async with session_factory() as session, session.begin():
        repo = SqlAlchemyMfaRepository(session)
        await repo.replace_backup_codes(user_id, [b"a", b"b"], NOW)
    async with session_factory() as session, session.begin():
        repo = SqlAlchemyMfaRepository(session)
        assert await repo.use_backup_code(user_id, [b"x", b"a"], NOW)
        assert not await repo.use_backup_code(user_id, [b"a"], NOW)
        assert not await repo.use_backup_code(uuid.uuid4(), [b"b"], NOW)  # not theirs
        assert await repo.backup_codes_remaining(user_id) == 1
        await repo.replace_backup_codes(user_id, [b"c"], NOW)
        assert not await repo.use_backup_code(user_id, [b"b"], NOW)
        assert await repo.backup_codes_remaining(user_id) == 1


def test_the_qr_code_is_an_svg_document() -> None:
    svg = SegnoQrCodes().svg(
        "otpauth://totp/Gatehouse:ada%40example.com?secret=ABC&issuer=Gatehouse"
    )
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "<script" not in svg
