"""The tests' real OpenID provider (npm oidc-provider, tests/support/oidc_provider.py) answers
as social login will need it to: discovery, a JWKS, and a whole authorization code flow with
PKCE over plain HTTP through its dev interactions, ending in an ID token PyJWT verifies."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest

from tests.support.oidc_provider import UNVERIFIED_SUBJECT, VERIFIED_SUBJECT, OidcProvider

_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.DOTALL)
_INPUT = re.compile(r"<input[^>]*>")
_ATTRIBUTE = re.compile(r'(name|value)="([^"]*)"')


def _discovery(provider: OidcProvider) -> dict[str, Any]:
    response = httpx.get(provider.discovery_url)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _authorize(
    client: httpx.Client, provider: OidcProvider, subject: str, params: dict[str, str]
) -> dict[str, list[str]]:
    """GET authorize, then answer the login and consent forms until the provider redirects
    to our redirect URI; returns that redirect's query."""
    redirect_uri = provider.redirect_uris[0]
    response = client.get(_discovery(provider)["authorization_endpoint"], params=params)
    for _ in range(10):
        if response.is_redirect:
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(redirect_uri):
                return parse_qs(urlsplit(location).query)
            response = client.get(location)
            continue
        assert response.status_code == 200, response.text
        form = _FORM.search(response.text)
        assert form is not None, response.text
        fields = {}
        for tag in _INPUT.findall(form.group(2)):
            attributes = dict(_ATTRIBUTE.findall(tag))
            fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
        if fields.get("prompt") == "login":
            fields.update(login=subject, password="any")
        response = client.post(
            urljoin(str(response.url), html.unescape(form.group(1))), data=fields
        )
    pytest.fail("the provider never redirected back")


def test_discovery_lists_the_endpoints_and_s256_and_the_jwks_has_a_key(
    oidc_provider: OidcProvider,
) -> None:
    document = _discovery(oidc_provider)

    assert document["issuer"] == oidc_provider.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert document[endpoint].startswith(f"{oidc_provider.issuer}/")
    assert "S256" in document["code_challenge_methods_supported"]
    keys = httpx.get(document["jwks_uri"]).json()["keys"]
    assert len(keys) >= 1
    assert all("d" not in key for key in keys)  # public keys only


def test_authorize_without_pkce_is_refused(oidc_provider: OidcProvider) -> None:
    params = {
        "client_id": oidc_provider.client_id,
        "response_type": "code",
        "scope": "openid email",
        "redirect_uri": oidc_provider.redirect_uris[0],
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
    }
    with httpx.Client() as client:
        query = _authorize(client, oidc_provider, VERIFIED_SUBJECT, params)

    assert query["error"] == ["invalid_request"]
    assert "code" not in query


@pytest.mark.parametrize("subject", [VERIFIED_SUBJECT, UNVERIFIED_SUBJECT])
def test_code_flow_with_pkce_gives_an_id_token_verified_against_the_jwks(
    oidc_provider: OidcProvider, subject: str
) -> None:
    document = _discovery(oidc_provider)
    verifier, challenge = _pkce()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    redirect_uri = oidc_provider.redirect_uris[0]
    params = {
        "client_id": oidc_provider.client_id,
        "response_type": "code",
        "scope": "openid email",
        "redirect_uri": redirect_uri,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with httpx.Client() as client:
        query = _authorize(client, oidc_provider, subject, params)
        assert query["state"] == [state]
        assert query["iss"] == [oidc_provider.issuer]  # RFC 9207
        token = client.post(
            document["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": oidc_provider.client_id,
                "client_secret": oidc_provider.client_secret,
            },
        )
        assert token.status_code == 200, token.text
        jwks = jwt.PyJWKSet.from_dict(client.get(document["jwks_uri"]).json())

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
    assert claims["nonce"] == nonce
    assert claims["email"] == account["email"]
    assert claims["email_verified"] is account["email_verified"]


def test_the_code_is_refused_without_the_right_verifier(oidc_provider: OidcProvider) -> None:
    document = _discovery(oidc_provider)
    _, challenge = _pkce()
    redirect_uri = oidc_provider.redirect_uris[0]
    params = {
        "client_id": oidc_provider.client_id,
        "response_type": "code",
        "scope": "openid email",
        "redirect_uri": redirect_uri,
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with httpx.Client() as client:
        query = _authorize(client, oidc_provider, VERIFIED_SUBJECT, params)
        token = client.post(
            document["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": redirect_uri,
                "code_verifier": _pkce()[0],
                "client_id": oidc_provider.client_id,
                "client_secret": oidc_provider.client_secret,
            },
        )

    assert token.status_code == 400
    assert token.json()["error"] == "invalid_grant"
