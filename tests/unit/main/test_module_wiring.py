"""Every provider of the module containers builds, with fakes for the infrastructure: a handler
whose constructor and its wiring disagree (a renamed or missing collaborator) fails here, not on
the first request that needs it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from dependency_injector import containers, providers

from tests.support.clock import FixedClock
from tests.support.containers import (
    accounts_container,
    auth_container,
    notifications_container,
    organizations_container,
)
from tests.support.fakes import (
    FakeAccessTokenIssuer,
    FakeAccountDirectory,
    FakeMailCaps,
    FakePasswordHasher,
    InMemoryAccountsUnitOfWork,
    InMemoryAuthUnitOfWork,
    InMemorySessionRevocations,
    InMemoryUserViews,
)
from tests.support.fakes.notifications import InMemoryOutboxStore, RecordingTransport
from tests.support.fakes.organizations import InMemoryOrganizationsUnitOfWork

# Providers that need real infrastructure to be built (a keys directory, a Redis client).
NEEDS_INFRASTRUCTURE = {"key_ring", "caps", "rate_limiter"}


def _auth() -> containers.Container:
    clock = FixedClock()
    container = auth_container(
        clock=clock,
        accounts=FakeAccountDirectory(uuid.uuid4(), password="right"),
        tokens=FakeAccessTokenIssuer(),
        revocations=InMemorySessionRevocations(clock),
        caps=FakeMailCaps(),
    )
    container.uow.override(providers.Object(InMemoryAuthUnitOfWork()))
    return container


def _accounts() -> containers.Container:
    uow = InMemoryAccountsUnitOfWork()
    return accounts_container(
        clock=FixedClock(),
        uow=uow,
        views=InMemoryUserViews(uow),
        hasher=FakePasswordHasher(),
        caps=FakeMailCaps(),
    )


def _notifications() -> containers.Container:
    return notifications_container(
        clock=FixedClock(), store=InMemoryOutboxStore(), transport=RecordingTransport()
    )


def _organizations() -> containers.Container:
    return organizations_container(
        clock=FixedClock(),
        uow=InMemoryOrganizationsUnitOfWork(),
        accounts=FakeAccountDirectory(uuid.uuid4(), password="right"),
    )


@pytest.mark.parametrize("build", [_auth, _accounts, _notifications, _organizations])
def test_every_provider_of_a_module_container_builds(build: Any) -> None:
    container = build()
    built = 0
    for name, provider in container.providers.items():
        if isinstance(provider, providers.Dependency) or name in NEEDS_INFRASTRUCTURE:
            continue
        provider()
        built += 1
    assert built >= 5
