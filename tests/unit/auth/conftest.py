"""Fixtures of the auth use-case tests: the auth container with fakes for its infrastructure,
wired as the app wires it, and one account whose password is "right password"."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from gatehouse.modules.auth.adapters.refresh_tokens import HmacRefreshTokens
from gatehouse.modules.auth.application.signing_in import (
    Login,
    LoginHandler,
    SessionPolicy,
    TokenPair,
)
from tests.support.clock import FixedClock
from tests.support.containers import REFRESH_TOKEN_KEY, auth_container, with_uow
from tests.support.fakes import (
    FakeAccessTokenIssuer,
    FakeAccountDirectory,
    InMemoryAuthUnitOfWork,
    InMemorySessionRevocations,
)

USER_ID = uuid.uuid4()
POLICY = SessionPolicy(
    access_ttl=timedelta(minutes=15), idle_ttl=timedelta(days=7), absolute_ttl=timedelta(days=30)
)
TOKENS = HmacRefreshTokens(REFRESH_TOKEN_KEY)


class Parts:
    """The auth container with fakes for its infrastructure (its wiring is the app's)."""

    def __init__(self) -> None:
        self.issuer = FakeAccessTokenIssuer()
        self.clock = FixedClock()
        self.directory = FakeAccountDirectory(
            USER_ID, password="right password", roles=("user", "admin")
        )
        self.revocations = InMemorySessionRevocations(self.clock)
        self.auth = auth_container(
            clock=self.clock,
            accounts=self.directory,
            tokens=self.issuer,
            revocations=self.revocations,
        )
        self.uow = InMemoryAuthUnitOfWork(after_commit=self.auth.subscriptions())
        with_uow(self.auth, self.uow)
        assert self.auth.session_policy() == POLICY

    def login(self) -> LoginHandler:
        return self.auth.login()

    async def sign_in(self, login: Login) -> TokenPair:
        """Login, for an account without a second factor: a token pair."""
        pair = await self.login()(login)
        assert isinstance(pair, TokenPair)
        return pair


@pytest.fixture
def parts() -> Parts:
    return Parts()
