"""Fixtures of the accounts use-case tests: in-memory adapters and a registration handler."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gatehouse.modules.accounts.application.mails import LinkSettings
from gatehouse.modules.accounts.application.register import RegisterUserHandler
from gatehouse.modules.accounts.domain.password_policy import PasswordPolicy
from tests.unit.fakes import FakePasswordHasher, FixedClock, InMemoryAccountsUnitOfWork

PASSWORD = "correct horse battery staple"
LINKS = LinkSettings(public_url="https://id.example.com", verification_ttl=timedelta(hours=24))


@pytest.fixture
def uow() -> InMemoryAccountsUnitOfWork:
    return InMemoryAccountsUnitOfWork()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def hasher() -> FakePasswordHasher:
    return FakePasswordHasher()


@pytest.fixture
def register(
    uow: InMemoryAccountsUnitOfWork, hasher: FakePasswordHasher, clock: FixedClock
) -> RegisterUserHandler:
    return RegisterUserHandler(uow, hasher, PasswordPolicy(frozenset({"password1"})), clock, LINKS)
