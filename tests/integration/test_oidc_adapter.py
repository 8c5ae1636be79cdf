"""The OpenID provider adapter (``OidcIdentityProviders``) against a real, independent provider
(npm oidc-provider, tests/support/oidc_provider.py): discovery, the authorization URL, the code
exchange with PKCE and client_secret_basic, and the ID token checked against its JWKS."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import pytest_asyncio

from gatehouse.modules.accounts.application.public import ExternalIdentity
from gatehouse.modules.auth.adapters.oidc import OidcIdentityProviders, OidcProviderConfig
from gatehouse.modules.auth.application.ports import AuthorizationRequest, IdentityProvider
from gatehouse.modules.auth.domain.errors import ProviderRejected, ProviderUnavailable
from gatehouse.shared.clock import SystemClock
from gatehouse.testing.mail import HOST, free_port
from tests.support.oidc_provider import (
    UNVERIFIED_SUBJECT,
    VERIFIED_SUBJECT,
    OidcProvider,
    drive_login,
    pkce_pair,
)


@pytest_asyncio.fixture(loop_scope="session")
async def real(oidc_provider: OidcProvider) -> AsyncIterator[IdentityProvider]:
    config = OidcProviderConfig(
        "real", oidc_provider.issuer, oidc_provider.client_id, oidc_provider.client_secret
    )
    providers = OidcIdentityProviders([config], clock=SystemClock())
    provider = providers.get("real")
    assert provider is not None
    yield provider
    await providers.aclose()


async def _sign_in(
    provider: IdentityProvider, oidc_provider: OidcProvider, subject: str
) -> tuple[str, str, str]:
    """Through the provider's login: the code, and the verifier and nonce it was asked with."""
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    redirect_uri = oidc_provider.redirect_uris[0]
    url = await provider.authorization_url(
        AuthorizationRequest(state, nonce, challenge, redirect_uri)
    )
    async with httpx.AsyncClient() as browser:
        query = await drive_login(browser, url, subject, redirect_uri)
    assert query["state"] == state, query
    return query["code"], verifier, nonce


async def test_authorization_url_asks_for_a_code_with_pkce_state_nonce_and_the_scopes(
    real: IdentityProvider, oidc_provider: OidcProvider
) -> None:
    request = AuthorizationRequest("the-state", "the-nonce", "the-challenge", "http://x/cb")

    url = await real.authorization_url(request)

    assert url.startswith(f"{oidc_provider.issuer}/")
    assert dict(parse_qsl(urlsplit(url).query)) == {
        "response_type": "code",
        "client_id": oidc_provider.client_id,
        "redirect_uri": "http://x/cb",
        "scope": "openid email profile",
        "state": "the-state",
        "nonce": "the-nonce",
        "code_challenge": "the-challenge",
        "code_challenge_method": "S256",
    }


async def test_a_sign_in_gives_the_identity_the_provider_vouches_for(
    real: IdentityProvider, oidc_provider: OidcProvider
) -> None:
    code, verifier, nonce = await _sign_in(real, oidc_provider, VERIFIED_SUBJECT)

    identity = await real.identify(
        code=code, code_verifier=verifier, redirect_uri=oidc_provider.redirect_uris[0], nonce=nonce
    )

    assert identity == ExternalIdentity(
        provider="real",
        issuer=oidc_provider.issuer,
        subject=VERIFIED_SUBJECT,
        email="alice@example.test",
        email_verified=True,
    )


async def test_an_unverified_email_at_the_provider_is_not_verified_here(
    real: IdentityProvider, oidc_provider: OidcProvider
) -> None:
    code, verifier, nonce = await _sign_in(real, oidc_provider, UNVERIFIED_SUBJECT)

    identity = await real.identify(
        code=code, code_verifier=verifier, redirect_uri=oidc_provider.redirect_uris[0], nonce=nonce
    )

    assert identity.subject == UNVERIFIED_SUBJECT
    assert identity.email == "mallory@example.test"
    assert identity.email_verified is False


async def test_a_code_with_the_wrong_verifier_is_rejected(
    real: IdentityProvider, oidc_provider: OidcProvider
) -> None:
    code, _, nonce = await _sign_in(real, oidc_provider, VERIFIED_SUBJECT)

    with pytest.raises(ProviderRejected, match="invalid_grant"):
        await real.identify(
            code=code,
            code_verifier=pkce_pair()[0],
            redirect_uri=oidc_provider.redirect_uris[0],
            nonce=nonce,
        )


async def test_a_code_used_twice_is_rejected_the_second_time(
    real: IdentityProvider, oidc_provider: OidcProvider
) -> None:
    code, verifier, nonce = await _sign_in(real, oidc_provider, VERIFIED_SUBJECT)
    redirect_uri = oidc_provider.redirect_uris[0]
    await real.identify(code=code, code_verifier=verifier, redirect_uri=redirect_uri, nonce=nonce)

    with pytest.raises(ProviderRejected, match="invalid_grant"):
        await real.identify(
            code=code, code_verifier=verifier, redirect_uri=redirect_uri, nonce=nonce
        )


async def test_a_nonce_other_than_the_one_sent_is_rejected(
    real: IdentityProvider, oidc_provider: OidcProvider
) -> None:
    code, verifier, _ = await _sign_in(real, oidc_provider, VERIFIED_SUBJECT)

    with pytest.raises(ProviderRejected, match="nonce"):
        await real.identify(
            code=code,
            code_verifier=verifier,
            redirect_uri=oidc_provider.redirect_uris[0],
            nonce="another-nonce",
        )


async def test_a_provider_that_is_not_listening_is_unavailable_at_once() -> None:
    issuer = f"http://{HOST}:{free_port(HOST)}"
    config = OidcProviderConfig("down", issuer, "client", "secret")
    providers = OidcIdentityProviders([config], clock=SystemClock(), timeout=1.0)
    provider = providers.get("down")
    assert provider is not None
    request = AuthorizationRequest("state", "nonce", "challenge", "http://x/cb")

    try:
        with pytest.raises(ProviderUnavailable, match="discovery document"):
            await provider.authorization_url(request)
        with pytest.raises(ProviderUnavailable):
            await provider.identify(
                code="code", code_verifier="verifier", redirect_uri="http://x/cb", nonce="n"
            )
    finally:
        await providers.aclose()
