"""One fake per port, each kept honest by a suite in ``tests/contract`` that runs the same tests
against it and against the real adapter.

Every fake subclasses its port explicitly, so mypy checks it against the Protocol.
"""

from __future__ import annotations

from tests.support.fakes.accounts import (
    FakeAccountDirectory,
    FakePasswordHasher,
    InMemoryAccountsUnitOfWork,
    InMemoryIdentityViews,
    InMemoryUserViews,
)
from tests.support.fakes.auth import (
    FakeAccessTokenIssuer,
    InMemoryAuthUnitOfWork,
    InMemoryLockout,
    InMemorySessionRevocations,
)
from tests.support.fakes.notifications import FakeMailCaps, InMemoryMailOutbox

__all__ = [
    "FakeAccessTokenIssuer",
    "FakeAccountDirectory",
    "FakeMailCaps",
    "FakePasswordHasher",
    "InMemoryAccountsUnitOfWork",
    "InMemoryAuthUnitOfWork",
    "InMemoryIdentityViews",
    "InMemoryLockout",
    "InMemoryMailOutbox",
    "InMemorySessionRevocations",
    "InMemoryUserViews",
]
