"""Discovery as independent client libraries read it: authlib validates the RFC 8414 metadata,
joserfc verifies access tokens (RFC 9068) from the JWK Set the metadata points to."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwt
from joserfc.jwk import KeySet

from gatehouse.main.settings import Settings
from gatehouse.modules.auth.domain.model import FIRST_PARTY_CLIENT_ID
from tests.e2e.conftest import ClientFactory, bearer, login, unique_email, verified_user

ISSUER = "https://id.example.test"  # validators insist on https; the app itself is not told


class AuthorizationServerMetadataWithoutAuthorizationEndpoint(AuthorizationServerMetadata):  # type: ignore[misc]
    """authlib's RFC 8414 validator, except that it reads an empty ``response_types_supported``
    as missing. RFC 8414 requires the member as a JSON array; a server without an authorization
    endpoint supports no response type, so the true array is empty (ADR 0020)."""

    def validate_response_types_supported(self) -> None:
        if not isinstance(self.get("response_types_supported"), list):
            msg = '"response_types_supported" MUST be JSON array'
            raise ValueError(msg)  # authlib validators raise ValueError


def path_of(url: str) -> str:
    """An advertised URL's path: the test client talks to the app, not to the issuer's host."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == ISSUER
    return parts.path


async def test_the_rfc8414_metadata_passes_an_independent_validator_and_claims_only_the_truth(
    make_client: ClientFactory,
) -> None:
    async with make_client(public_url=ISSUER) as client:
        response = await client.get("/.well-known/oauth-authorization-server")
        assert response.status_code == 200
        document: dict[str, Any] = response.json()
        AuthorizationServerMetadataWithoutAuthorizationEndpoint(document).validate()

        assert document == {
            "issuer": ISSUER,
            "token_endpoint": f"{ISSUER}/api/v1/auth/token",
            "jwks_uri": f"{ISSUER}/.well-known/jwks.json",
            "grant_types_supported": ["password", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["none"],
            "response_types_supported": [],
        }
        # The OpenID Connect path serves the same metadata: nothing about ID tokens, which
        # Gatehouse does not issue, nor an authorization endpoint it does not have.
        openid = await client.get("/.well-known/openid-configuration")
        assert openid.status_code == 200
        assert openid.json() == document

        # What it advertises is there: the JWK Set, and each grant at the token endpoint
        # (a grant it knows asks for its parameters; one it does not is refused as such).
        assert (await client.get(path_of(document["jwks_uri"]))).status_code == 200
        token_path = path_of(document["token_endpoint"])
        for grant in document["grant_types_supported"]:
            answer = await client.post(token_path, data={"grant_type": grant})
            assert answer.json()["error"] == "invalid_request", grant
        answer = await client.post(token_path, data={"grant_type": "authorization_code"})
        assert answer.json()["error"] == "unsupported_grant_type"


# joserfc warns that RFC 9864 prefers the fully-specified "Ed25519" to "EdDSA" (ADR 0020).
@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
async def test_an_independent_jose_library_verifies_access_tokens_from_the_served_jwks(
    make_client: ClientFactory, settings: Settings
) -> None:
    email = unique_email("rfc9068")
    async with make_client(public_url=ISSUER) as client:
        await verified_user(client, settings, email)
        pair = await login(client, email)
        user_id = (await client.get("/api/v1/me", headers=bearer(pair))).json()["id"]
        document = (await client.get("/.well-known/oauth-authorization-server")).json()
        keys = KeySet.import_key_set((await client.get(path_of(document["jwks_uri"]))).json())

    token = jwt.decode(pair["access_token"], keys, algorithms=["EdDSA"])
    assert token.header["typ"] == "at+jwt"  # RFC 9068 section 2.1
    assert token.header["kid"] in {key["kid"] for key in keys.as_dict()["keys"]}
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": document["issuer"]},
        aud={"essential": True, "value": settings.jwt_audience},
        sub={"essential": True, "value": user_id},
        client_id={"essential": True, "value": FIRST_PARTY_CLIENT_ID},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
    ).validate(token.claims)
    assert token.claims["exp"] - token.claims["iat"] == settings.access_token_ttl_seconds


@pytest.mark.parametrize("reload_seconds", [60, 5, 0])
async def test_the_jwks_is_cached_no_longer_than_a_new_key_waits_before_it_signs(
    make_client: ClientFactory, settings: Settings, reload_seconds: int
) -> None:
    async with make_client(keys_reload_seconds=reload_seconds) as client:
        response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    max_age = int(response.headers["cache-control"].removeprefix("public, max-age="))
    assert response.headers["cache-control"] == f"public, max-age={max_age}"
    # A new key is in every process's JWKS within one reload and signs at the activation delay
    # (ADR 0014): a copy fetched just before the key appeared has expired by the time it signs.
    policy = settings.model_copy(update={"keys_reload_seconds": reload_seconds}).key_rotation
    assert max_age + reload_seconds <= policy.activation_delay.total_seconds()
    assert max_age == reload_seconds  # and no shorter than that allows
