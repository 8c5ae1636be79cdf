"""Fixtures of the accounts use-case tests: the accounts container with in-memory adapters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gatehouse.modules.accounts.application.mails import LinkSettings
from gatehouse.modules.accounts.application.register import RegisterUserHandler
from gatehouse.modules.accounts.container import AccountsContainer
from gatehouse.modules.notifications.application.public import MailCaps
from tests.support.clock import FixedClock
from tests.support.containers import accounts_container
from tests.support.fakes import FakePasswordHasher, InMemoryAccountsUnitOfWork, InMemoryUserViews

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


def build_accounts(
    uow: InMemoryAccountsUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    *,
    caps: MailCaps | None = None,
    locales: tuple[str, ...] = ("en",),
    require_verified_email: bool = True,
) -> AccountsContainer:
    return accounts_container(
        clock=clock,
        uow=uow,
        views=InMemoryUserViews(uow),
        hasher=hasher,
        caps=caps,
        locales=locales,
        require_verified_email=require_verified_email,
    )


@pytest.fixture
def accounts(
    uow: InMemoryAccountsUnitOfWork, hasher: FakePasswordHasher, clock: FixedClock
) -> AccountsContainer:
    return build_accounts(uow, hasher, clock, locales=("de", "en"))


@pytest.fixture
def register(accounts: AccountsContainer) -> RegisterUserHandler:
    handler: RegisterUserHandler = accounts.register_user()
    return handler
