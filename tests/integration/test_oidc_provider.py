"""The tests' real OpenID provider (npm oidc-provider, tests/support/oidc_provider.py) answers
as social login will need it to: discovery, a JWKS, and a whole authorization code flow with
PKCE over plain HTTP through its dev interactions, ending in an ID token PyJWT verifies."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest

from tests.support.oidc_provider import (
    UNVERIFIED_SUBJECT,
    VERIFIED_SUBJECT,
    OidcProvider,
    drive_login,
    pkce_pair,
)


async def _discovery(provider: OidcProvider) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.get(provider.discovery_url)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def _params(provider: OidcProvider, **extra: str) -> dict[str, str]:
    return {
        "client_id": provider.client_id,
        "response_type": "code",
        "scope": "openid email",
        "redirect_uri": provider.redirect_uris[0],
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        **extra,
    }


async def _authorize(
    client: httpx.AsyncClient, provider: OidcProvider, subject: str, params: dict[str, str]
) -> dict[str, str]:
    endpoint = (await _discovery(provider))["authorization_endpoint"]
    url = f"{endpoint}?{urlencode(params)}"
    return await drive_login(client, url, subject, provider.redirect_uris[0])


async def test_discovery_lists_the_endpoints_and_s256_and_the_jwks_has_a_key(
    oidc_provider: OidcProvider,
) -> None:
    document = await _discovery(oidc_provider)

    assert document["issuer"] == oidc_provider.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert document[endpoint].startswith(f"{oidc_provider.issuer}/")
    assert "S256" in document["code_challenge_methods_supported"]
    async with httpx.AsyncClient() as client:
        keys = (await client.get(document["jwks_uri"])).json()["keys"]
    assert len(keys) >= 1
    assert all("d" not in key for key in keys)  # public keys only


async def test_authorize_without_pkce_is_refused(oidc_provider: OidcProvider) -> None:
    async with httpx.AsyncClient() as client:
        query = await _authorize(client, oidc_provider, VERIFIED_SUBJECT, _params(oidc_provider))

    assert query["error"] == "invalid_request"
    assert "code" not in query


@pytest.mark.parametrize("subject", [VERIFIED_SUBJECT, UNVERIFIED_SUBJECT])
async def test_code_flow_with_pkce_gives_an_id_token_verified_against_the_jwks(
    oidc_provider: OidcProvider, subject: str
) -> None:
    document = await _discovery(oidc_provider)
    verifier, challenge = pkce_pair()
    params = _params(oidc_provider, code_challenge=challenge, code_challenge_method="S256")
    async with httpx.AsyncClient() as client:
        query = await _authorize(client, oidc_provider, subject, params)
        assert query["state"] == params["state"]
        assert query["iss"] == oidc_provider.issuer  # RFC 9207
        token = await client.post(
            document["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": query["code"],
                "redirect_uri": params["redirect_uri"],
                "code_verifier": verifier,
            },
            auth=(oidc_provider.client_id, oidc_provider.client_secret),  # client_secret_basic
        )
        assert token.status_code == 200, token.text
        jwks = jwt.PyJWKSet.from_dict((await client.get(document["jwks_uri"])).json())

    id_token = token.json()["id_token"]
    kid = jwt.get_unverified_header(id_token)["kid"]
    key = next(key for key in jwks.keys if key.key_id == kid)
    claims = jwt.decode(
        id_token,
        key,
        algorithms=["RS256"],
        audience=oidc_provider.client_id,
        issuer=oidc_provider.issuer,
        options={"require": ["iss", "aud", "exp", "iat", "sub", "nonce"]},
    )
    account = oidc_provider.accounts[subject]
    assert claims["sub"] == subject
    assert claims["nonce"] == params["nonce"]
    assert claims["email"] == account["email"]
    assert claims["email_verified"] is account["email_verified"]


async def test_the_code_is_refused_without_the_right_verifier(
    oidc_provider: OidcProvider,
) -> None:
    document = await _discovery(oidc_provider)
    _, challenge = pkce_pair()
    params = _params(oidc_provider, code_challenge=challenge, code_challenge_method="S256")
    async with httpx.AsyncClient() as client:
        query = await _authorize(client, oidc_provider, VERIFIED_SUBJECT, params)
        token = await client.post(
            document["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": query["code"],
                "redirect_uri": params["redirect_uri"],
                "code_verifier": pkce_pair()[0],
            },
            auth=(oidc_provider.client_id, oidc_provider.client_secret),
        )

    assert token.status_code == 400
    assert token.json()["error"] == "invalid_grant"
