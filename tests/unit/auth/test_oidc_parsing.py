"""The OpenID provider adapter's parsing helpers; its behaviour is tested against a real and a
fake provider (tests/integration/test_oidc_*.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gatehouse.modules.auth.adapters.oidc_keys import KeySet, cache_lifetime
from gatehouse.modules.auth.adapters.oidc_metadata import ProviderMetadata
from gatehouse.modules.auth.adapters.oidc_tokens import email_verified

ISSUER = "https://id.example.com"


@pytest.mark.parametrize(
    ("header", "lifetime"),
    [
        ("public, max-age=600, must-revalidate", timedelta(seconds=600)),
        ('max-age="90"', timedelta(seconds=90)),
        ("MAX-AGE=7200", timedelta(hours=1)),
        ("max-age=" + "9" * 5000, timedelta(hours=1)),
        ("max-age=0", timedelta(minutes=5)),
        ("no-store", timedelta(minutes=5)),
        ("no-cache, max-age=600", timedelta(minutes=5)),
        ("max-age=-5", timedelta(minutes=5)),
        ("max-age=1e3", timedelta(minutes=5)),
        ("max-age=\u0661\u0662\u0660", timedelta(minutes=5)),  # Arabic-Indic digits
        (None, timedelta(minutes=5)),
    ],
)
def test_cache_lifetime_is_max_age_capped_at_an_hour_else_five_minutes(
    header: str | None, lifetime: timedelta
) -> None:
    assert cache_lifetime(header) == lifetime


def _document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks",
        "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
    }
    document.update(changes)
    return {name: value for name, value in document.items() if value is not None}


def test_metadata_keeps_the_asymmetric_algorithms_and_defaults_to_basic() -> None:
    metadata = ProviderMetadata.parse(_document(), ISSUER)

    assert metadata.signing_algorithms == {"RS256"}
    assert metadata.client_auth_methods == ("client_secret_basic",)
    assert metadata.userinfo_endpoint is None


def test_metadata_orders_the_client_authentications_basic_first() -> None:
    offered = ["private_key_jwt", "client_secret_post", "client_secret_basic"]
    document = _document(token_endpoint_auth_methods_supported=offered)

    methods = ProviderMetadata.parse(document, ISSUER).client_auth_methods

    assert methods == ("client_secret_basic", "client_secret_post")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (None, "not a JSON object"),
        (_document(issuer=f"{ISSUER}/"), "issuer"),
        (_document(token_endpoint=None), "no token_endpoint"),
        (_document(jwks_uri="http://id.example.com/jwks"), "jwks_uri is not an https URL"),
        (_document(userinfo_endpoint="ftp://id.example.com/"), "userinfo_endpoint"),
        (_document(id_token_signing_alg_values_supported="RS256"), "not a list"),
        (_document(id_token_signing_alg_values_supported=["HS256"]), "none of"),
        (_document(token_endpoint_auth_methods_supported=["none"]), "takes none of"),
    ],
)
def test_metadata_refuses_a_document_it_cannot_trust_or_use(
    document: dict[str, Any] | None, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        ProviderMetadata.parse(document, ISSUER)


def test_http_endpoints_are_accepted_on_a_loopback_host_only() -> None:
    issuer = "http://127.0.0.1:9000"
    document = _document(
        issuer=issuer,
        authorization_endpoint="http://localhost:9000/a",
        token_endpoint="http://[::1]:9000/t",
        jwks_uri="http://127.0.0.2:9000/k",
    )

    assert ProviderMetadata.parse(document, issuer).jwks_uri == "http://127.0.0.2:9000/k"


def test_a_key_set_drops_symmetric_and_private_keys() -> None:
    keys = [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "d", "kid": "private"},
        "not a key",
    ]
    with pytest.raises(ValueError, match="no public signing key"):
        KeySet.parse({"keys": keys})
    with pytest.raises(ValueError, match="no keys list"):
        KeySet.parse({"keys": {}})


@pytest.mark.parametrize(
    ("value", "verified"),
    [(True, True), ("true", True), (False, False), ("True", False), (1, False), (None, False)],
)
def test_email_verified_is_true_or_the_string_true_only(value: object, verified: bool) -> None:
    assert email_verified(value) is verified
