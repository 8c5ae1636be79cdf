from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from gatehouse.modules.accounts.application.public import (
    AccountDirectory,
    AccountSnapshot,
    InvalidCredentials,
)
from gatehouse.modules.auth.application.login import (
    Login,
    LoginHandler,
    SessionPolicy,
    hash_refresh_token,
)
from tests.unit.fakes import FakeAccessTokenIssuer, FixedClock, InMemoryAuthUnitOfWork

USER_ID = uuid.uuid4()
POLICY = SessionPolicy(
    access_ttl=timedelta(minutes=15), idle_ttl=timedelta(days=7), absolute_ttl=timedelta(days=30)
)


class StubDirectory(AccountDirectory):
    async def authenticate(self, email: str, password: str) -> AccountSnapshot:
        if password != "right password":
            raise InvalidCredentials
        return AccountSnapshot(USER_ID, email, ("user", "admin"), True, True)

    async def get(self, user_id: uuid.UUID) -> AccountSnapshot | None:
        return None


@pytest.fixture
def parts() -> tuple[InMemoryAuthUnitOfWork, FakeAccessTokenIssuer, FixedClock]:
    return InMemoryAuthUnitOfWork(), FakeAccessTokenIssuer(), FixedClock()


async def test_login_starts_a_session_and_returns_a_token_pair(
    parts: tuple[InMemoryAuthUnitOfWork, FakeAccessTokenIssuer, FixedClock],
) -> None:
    uow, issuer, clock = parts
    handler = LoginHandler(StubDirectory(), uow, issuer, clock, POLICY)

    pair = await handler(Login("ada@example.com", "right password", "Firefox", "203.0.113.9"))

    [session] = uow.sessions_by_id.values()
    assert session.user_id == USER_ID
    assert session.refresh_token_hash == hash_refresh_token(pair.refresh_token)
    assert len(pair.refresh_token) >= 43  # 256 bits, base64url
    assert session.user_agent == "Firefox"
    assert session.ip == "203.0.113.9"
    assert session.idle_expires_at == clock.now() + timedelta(days=7)
    assert session.absolute_expires_at == clock.now() + timedelta(days=30)
    [claims] = issuer.issued
    assert claims.session_id == session.id
    assert claims.roles == ("user", "admin")
    assert claims.amr == ("pwd",)
    assert claims.expires_at - claims.issued_at == timedelta(minutes=15)
    assert pair.expires_in == 900
    assert pair.refresh_expires_in == 7 * 24 * 3600


async def test_failed_login_starts_no_session(
    parts: tuple[InMemoryAuthUnitOfWork, FakeAccessTokenIssuer, FixedClock],
) -> None:
    uow, issuer, clock = parts
    with pytest.raises(InvalidCredentials):
        await LoginHandler(StubDirectory(), uow, issuer, clock, POLICY)(
            Login("ada@example.com", "wrong")
        )
    assert uow.sessions_by_id == {}
    assert issuer.issued == []


async def test_each_login_gets_its_own_refresh_token(
    parts: tuple[InMemoryAuthUnitOfWork, FakeAccessTokenIssuer, FixedClock],
) -> None:
    uow, issuer, clock = parts
    handler = LoginHandler(StubDirectory(), uow, issuer, clock, POLICY)
    first = await handler(Login("ada@example.com", "right password"))
    second = await handler(Login("ada@example.com", "right password"))
    assert first.refresh_token != second.refresh_token
    assert first.session_id != second.session_id


async def test_a_very_long_user_agent_is_truncated(
    parts: tuple[InMemoryAuthUnitOfWork, FakeAccessTokenIssuer, FixedClock],
) -> None:
    uow, issuer, clock = parts
    await LoginHandler(StubDirectory(), uow, issuer, clock, POLICY)(
        Login("ada@example.com", "right password", "x" * 5000)
    )
    [session] = uow.sessions_by_id.values()
    assert session.user_agent is not None
    assert len(session.user_agent) == 512
