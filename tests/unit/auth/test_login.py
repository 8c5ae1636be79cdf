from __future__ import annotations

from datetime import timedelta

import pytest

from gatehouse.modules.accounts.application.public import (
    InvalidCredentials,
)
from gatehouse.modules.auth.application.signing_in import (
    Login,
)
from tests.unit.auth.conftest import TOKENS, USER_ID, Parts


async def test_login_starts_a_session_and_returns_a_token_pair(parts: Parts) -> None:
    pair = await parts.sign_in(Login("ada@example.com", "right password", "Firefox", "203.0.113.9"))

    [session] = parts.uow.sessions_by_id.values()
    [token] = parts.uow.committed.refresh_tokens.values()
    assert session.user_id == USER_ID
    assert token.token_hash == TOKENS.hash(pair.refresh_token)  # only the hash is stored
    assert token.generation == session.generation == 0
    assert len(pair.refresh_token) >= 43  # 256 bits, base64url
    assert session.user_agent == "Firefox"
    assert session.ip == "203.0.113.9"
    assert session.idle_expires_at == parts.clock.now() + timedelta(days=7)
    assert session.absolute_expires_at == parts.clock.now() + timedelta(days=30)
    [claims] = parts.issuer.issued
    assert claims.session_id == session.id
    assert claims.roles == ("user", "admin")
    assert claims.amr == ("pwd",)
    assert claims.expires_at - claims.issued_at == timedelta(minutes=15)
    assert pair.expires_in == 900
    assert pair.refresh_expires_in == 7 * 24 * 3600


async def test_failed_login_starts_no_session(parts: Parts) -> None:
    with pytest.raises(InvalidCredentials):
        await parts.sign_in(Login("ada@example.com", "wrong"))
    assert parts.uow.sessions_by_id == {}
    assert parts.issuer.issued == []


async def test_each_login_gets_its_own_refresh_token(parts: Parts) -> None:
    first = await parts.sign_in(Login("ada@example.com", "right password"))
    second = await parts.sign_in(Login("ada@example.com", "right password"))
    assert first.refresh_token != second.refresh_token
    assert first.session_id != second.session_id


async def test_a_very_long_user_agent_is_truncated(parts: Parts) -> None:
    await parts.sign_in(Login("ada@example.com", "right password", "x" * 5000))
    [session] = parts.uow.sessions_by_id.values()
    assert session.user_agent is not None
    assert len(session.user_agent) == 512


async def test_a_sign_in_from_a_new_device_mails_a_notice_but_the_first_one_does_not(
    parts: Parts,
) -> None:
    login = parts.login()
    await login(Login("ada@example.com", "right password", "Firefox", "203.0.113.9"))
    await login(Login("ada@example.com", "right password", "Firefox", "203.0.113.10"))
    assert parts.uow.committed.mails == []  # first sign-in, then a known device
    await login(Login("ada@example.com", "right password", "curl/8", "198.51.100.1", "de"))
    [notice] = parts.uow.committed.mails
    assert (notice.template, notice.locale) == ("new_sign_in", "de")
    assert notice.params["device"] == "curl/8"
    assert notice.params["ip"] == "198.51.100.1"
