"""Forged and misused bearer tokens, over HTTP: all 401 with ``WWW-Authenticate``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatehouse.main.settings import Settings
from gatehouse.modules.auth.adapters.keys import read_keys
from tests.e2e.conftest import bearer, login, unique_email, verified_user


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


@pytest.fixture
async def genuine(client: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    """A real token, its parts, and the server's own signing key (dev keys live in the data dir),
    so each forgery below fails on the rule it breaks, not on its signature."""
    email = unique_email("forge")
    await verified_user(client, settings, email)
    pair = await login(client, email)
    header = jwt.get_unverified_header(pair["access_token"])
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    jwks = (await client.get("/.well-known/jwks.json")).json()
    public = jwt.PyJWKSet.from_dict(jwks)[header["kid"]].key
    [key] = [k for k in read_keys(settings.resolved_keys_dir) if k.kid == header["kid"]]
    return {"pair": pair, "header": header, "claims": claims, "public": public, "key": key}


def _resign(genuine: dict[str, Any], *, foreign_key: bool = False, **changes: Any) -> str:
    """Changed claims, signed with the server's key (or, with ``foreign_key``, another one)."""
    claims = {**genuine["claims"], **changes}
    key = Ed25519PrivateKey.generate() if foreign_key else genuine["key"].private_key
    return jwt.encode(
        claims, key, algorithm="EdDSA", headers={"kid": genuine["header"]["kid"], "typ": "at+jwt"}
    )


def forgeries(genuine: dict[str, Any]) -> dict[str, str]:
    claims = genuine["claims"]
    kid = genuine["header"]["kid"]
    public_pem = genuine["public"].public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_header = _segment({"alg": "HS256", "typ": "at+jwt", "kid": kid})
    hs_input = f"{hs_header}.{_segment(claims)}".encode()
    hs256 = f"{hs_input.decode()}.{_b64(hmac.new(public_pem, hs_input, hashlib.sha256).digest())}"
    parts = genuine["pair"]["access_token"].split(".")
    return {
        "alg none": f"{_segment({'alg': 'none', 'typ': 'at+jwt', 'kid': kid})}.{parts[1]}.",
        "HS256 keyed with the public key": hs256,
        "claims changed, signature kept": ".".join(
            [parts[0], _segment({**claims, "roles": ["admin"]}), parts[2]]
        ),
        "signed by another key": _resign(genuine, foreign_key=True),
        "wrong audience": _resign(genuine, aud="another-service"),
        "wrong issuer": _resign(genuine, iss="https://evil.example"),
        "expired": _resign(genuine, exp=int(time.time()) - 120),
        "refresh token used as access token": genuine["pair"]["refresh_token"],
    }


FORGERY_NAMES = [
    "alg none",
    "HS256 keyed with the public key",
    "claims changed, signature kept",
    "signed by another key",
    "wrong audience",
    "wrong issuer",
    "expired",
    "refresh token used as access token",
]


async def test_the_control_a_token_resigned_unchanged_is_accepted(
    client: httpx.AsyncClient, genuine: dict[str, Any]
) -> None:
    """The forgeries differ from this accepted token only in the rule each one breaks."""
    response = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {_resign(genuine)}"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("name", FORGERY_NAMES)
async def test_forged_or_misused_tokens_are_401_with_www_authenticate(
    client: httpx.AsyncClient, genuine: dict[str, Any], name: str
) -> None:
    token = forgeries(genuine)[name]
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["code"] == "invalid_token"
    genuine_me = await client.get("/api/v1/me", headers=bearer(genuine["pair"]))
    assert genuine_me.status_code == 200
