"""The OpenID provider adapter pointed at the fake provider (tests/support/fake_oidc.py), on a
clock the test moves and the fake mints its tokens by."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from gatehouse.modules.auth.adapters.oidc import OidcIdentityProviders
from gatehouse.modules.auth.application.ports import IdentityProvider
from tests.support.clock import FixedClock
from tests.support.fake_oidc import FakeOidcProvider


@pytest.fixture
def oidc_clock(fake_oidc: FakeOidcProvider) -> FixedClock:
    clock = FixedClock()
    fake_oidc.clock = clock
    return clock


@pytest_asyncio.fixture(loop_scope="session")
async def fake_providers(
    fake_oidc: FakeOidcProvider, oidc_clock: FixedClock
) -> AsyncIterator[OidcIdentityProviders]:
    """A new adapter (nothing cached) for the fake, configured as ``fake``."""
    providers = OidcIdentityProviders([fake_oidc.config("fake")], clock=oidc_clock)
    yield providers
    await providers.aclose()


@pytest.fixture
def fake_idp(fake_providers: OidcIdentityProviders) -> IdentityProvider:
    provider = fake_providers.get("fake")
    assert provider is not None
    return provider
