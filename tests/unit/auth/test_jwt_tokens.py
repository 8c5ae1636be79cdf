"""The access-token codec refuses every forgery with ``InvalidAccessToken``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatehouse.modules.auth.adapters.jwt_tokens import JwtAccessTokens
from gatehouse.modules.auth.adapters.keys import (
    KeyRing,
    KeyRingSource,
    RotationPolicy,
    SigningKey,
)
from gatehouse.modules.auth.domain.errors import InvalidAccessToken
from gatehouse.modules.auth.domain.model import FIRST_PARTY_CLIENT_ID, AccessClaims
from tests.support.clock import FixedClock

ISSUER = "https://id.example.com"
AUDIENCE = "gatehouse"


POLICY = RotationPolicy(activation_delay=timedelta(minutes=2), token_lifetime=timedelta(minutes=16))


def key_source(
    directory: Path, clock: FixedClock, *, reload_seconds: float = 3600
) -> KeyRingSource:
    return KeyRingSource(
        directory,
        create_if_missing=True,
        policy=POLICY,
        clock=clock,
        reload_seconds=reload_seconds,
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> KeyRingSource:
    return key_source(tmp_path_factory.mktemp("keys"), FixedClock())


@pytest.fixture(scope="module")
def ring(source: KeyRingSource) -> KeyRing:
    return source.current()


@pytest.fixture(scope="module")
def codec(source: KeyRingSource) -> JwtAccessTokens:
    return JwtAccessTokens(source, issuer=ISSUER, audience=AUDIENCE)


def _claims(now: datetime | None = None, ttl: timedelta = timedelta(minutes=15)) -> AccessClaims:
    now = now or datetime.now(UTC)
    return AccessClaims(
        subject=uuid.uuid4(),
        session_id=uuid.uuid4(),
        token_id=str(uuid.uuid4()),
        roles=("user",),
        amr=("pwd",),
        issued_at=now,
        expires_at=now + ttl,
        client_id=FIRST_PARTY_CLIENT_ID,
    )


def _payload(**overrides: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "jti": "j",
        "iat": now,
        "exp": now + 600,
        "roles": ["admin"],
        "amr": ["pwd"],
        "client_id": FIRST_PARTY_CLIENT_ID,
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def _sign(ring: KeyRing, payload: dict[str, Any], **headers: Any) -> str:
    header = {"kid": ring.active.kid, "typ": "at+jwt", **headers}
    return jwt.encode(payload, ring.active.private_key, algorithm="EdDSA", headers=header)


def test_issued_token_round_trips_with_header_and_claims(
    codec: JwtAccessTokens, ring: KeyRing
) -> None:
    claims = _claims()
    token = codec.issue(claims)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": ring.active.kid, "typ": "at+jwt"}
    verified = codec.verify(token)
    assert verified.subject == claims.subject
    assert verified.session_id == claims.session_id
    assert verified.roles == ("user",)
    assert verified.amr == ("pwd",)
    assert verified.client_id == FIRST_PARTY_CLIENT_ID


def test_a_standard_jose_library_verifies_it_from_the_jwks_alone(codec: JwtAccessTokens) -> None:
    token = codec.issue(_claims())
    jwk_set = jwt.PyJWKSet.from_dict(dict(codec.jwks()))
    key = jwk_set[jwt.get_unverified_header(token)["kid"]]
    payload = jwt.decode(token, key, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER)
    assert {"iss", "aud", "sub", "exp", "iat", "jti", "sid", "roles", "amr"} <= payload.keys()
    assert payload["client_id"] == FIRST_PARTY_CLIENT_ID


def _none_alg(payload: dict[str, Any], kid: str) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'at+jwt', 'kid': kid})}.{part(payload)}."


def _hs256_with_public_key(ring: KeyRing, payload: dict[str, Any]) -> str:
    public_pem = ring.active.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": ring.active.kid}

    def part(data: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")

    signing_input = part(header) + b"." + part(payload)
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


def _with_header(token: str, header: Any) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return encoded + token[token.index(".") :]


def _junk_in_header(token: str) -> str:
    """Characters a lenient base64 decoder would skip: the signed bytes no longer match."""
    header, rest = token.split(".", 1)
    return f"{header[:4]}!!{header[4:]}.{rest}"


FORGERIES: dict[str, Any] = {
    "alg none": lambda ring: _none_alg(_payload(), ring.active.kid),
    "HS256 keyed with the public key": lambda ring: _hs256_with_public_key(ring, _payload()),
    "wrong audience": lambda ring: _sign(ring, _payload(aud="other")),
    "audience list containing ours": lambda ring: _sign(ring, _payload(aud=[AUDIENCE, "x"])),
    "wrong issuer": lambda ring: _sign(ring, _payload(iss="https://evil.example")),
    "expired beyond leeway": lambda ring: _sign(
        ring, _payload(exp=int(datetime.now(UTC).timestamp()) - 31)
    ),
    "missing sid": lambda ring: _sign(ring, _payload(sid=None)),
    "missing jti": lambda ring: _sign(ring, _payload(jti=None)),
    "missing exp": lambda ring: _sign(ring, _payload(exp=None)),
    "sub not a uuid": lambda ring: _sign(ring, _payload(sub="admin")),
    "roles not a list": lambda ring: _sign(ring, _payload(roles="admin")),
    "client_id not a string": lambda ring: _sign(ring, _payload(client_id=["a", "b"])),
    "wrong typ": lambda ring: _sign(ring, _payload(), typ="JWT"),
    "unknown kid": lambda ring: _sign(ring, _payload(), kid="nope"),
    "signed by another key": lambda ring: jwt.encode(
        _payload(),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": ring.active.kid, "typ": "at+jwt"},
    ),
    "no kid": lambda ring: _with_header(_sign(ring, _payload()), {"alg": "EdDSA", "typ": "at+jwt"}),
    "header not an object": lambda ring: _with_header(_sign(ring, _payload()), [1]),
    "kid not a string": lambda ring: _with_header(
        _sign(ring, _payload()), {"alg": "EdDSA", "typ": "at+jwt", "kid": 7}
    ),
    "junk in the header segment": lambda ring: _junk_in_header(_sign(ring, _payload())),
    "garbage": lambda ring: "not.a.jwt",
    "empty": lambda ring: "",
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_or_malformed_tokens_are_refused(
    codec: JwtAccessTokens, ring: KeyRing, forgery: str
) -> None:
    token = FORGERIES[forgery](ring)
    with pytest.raises(InvalidAccessToken):
        codec.verify(token)


def test_expiry_allows_at_most_thirty_seconds_of_clock_skew(
    codec: JwtAccessTokens, ring: KeyRing
) -> None:
    codec.verify(_sign(ring, _payload(exp=int(datetime.now(UTC).timestamp()) - 20)))


def test_a_token_from_before_client_id_stands_for_the_first_party_client(
    codec: JwtAccessTokens, ring: KeyRing
) -> None:
    """A rolling upgrade: a process of the previous version signed it without ``client_id``."""
    claims = codec.verify(_sign(ring, _payload(client_id=None)))
    assert claims.client_id == FIRST_PARTY_CLIENT_ID


class _Ring:
    """A key ring source whose ring the test swaps (a rotation that retired a key)."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    def current(self) -> KeyRing:
        return self.ring

    def cache_seconds(self) -> int:
        return 0


class _Wall:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _remembering(ring: KeyRing, *, size: int = 8) -> tuple[JwtAccessTokens, _Ring, _Wall]:
    source, wall = _Ring(ring), _Wall()
    codec = JwtAccessTokens(
        cast("KeyRingSource", source),
        issuer=ISSUER,
        audience=AUDIENCE,
        wall_clock=wall,
        cache_size=size,
    )
    return codec, source, wall


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens PyJWT checked in full (a remembered one is not checked again)."""
    checked: list[str] = []
    decode = jwt.api_jwt.decode_complete

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt.api_jwt, "decode_complete", counting)
    return checked


def test_a_verified_token_is_remembered_with_the_same_claims(
    ring: KeyRing, decodes: list[str]
) -> None:
    codec, _, _ = _remembering(ring)
    token = _sign(ring, _payload())

    first, second = codec.verify(token), codec.verify(token)

    assert second == first
    assert decodes == [token]


def test_a_remembered_token_past_its_expiry_and_leeway_is_refused(ring: KeyRing) -> None:
    codec, _, wall = _remembering(ring)
    exp = int(time.time()) + 60
    token = _sign(ring, _payload(exp=exp))
    codec.verify(token)

    wall.now = exp + 29  # within the leeway: still good
    codec.verify(token)
    wall.now = exp + 30
    with pytest.raises(InvalidAccessToken):
        codec.verify(token)


def test_a_remembered_token_whose_key_left_the_ring_is_refused(ring: KeyRing) -> None:
    codec, source, _ = _remembering(ring)
    token = _sign(ring, _payload())
    codec.verify(token)
    successor = SigningKey(
        kid="successor",
        private_key=Ed25519PrivateKey.generate(),
        created_at=ring.active.created_at,
        path=ring.active.path,
    )

    source.ring = KeyRing(active=successor, keys=(successor,))

    with pytest.raises(InvalidAccessToken):
        codec.verify(token)


def test_a_token_with_the_signature_of_a_remembered_one_is_checked_in_full(
    ring: KeyRing, decodes: list[str]
) -> None:
    codec, _, _ = _remembering(ring)
    token = _sign(ring, _payload(roles=["user"]))
    codec.verify(token)
    header, _, signature = token.split(".")
    raised = base64.urlsafe_b64encode(json.dumps(_payload(roles=["admin"])).encode()).rstrip(b"=")

    with pytest.raises(InvalidAccessToken):
        codec.verify(f"{header}.{raised.decode()}.{signature}")
    assert len(decodes) == 2


def test_the_oldest_remembered_token_goes_first_when_full(
    ring: KeyRing, decodes: list[str]
) -> None:
    codec, _, _ = _remembering(ring, size=2)
    tokens = [_sign(ring, _payload(jti=str(n))) for n in range(3)]
    for token in tokens:
        codec.verify(token)

    codec.verify(tokens[2])
    codec.verify(tokens[1])
    codec.verify(tokens[0])

    assert decodes == [*tokens, tokens[0]]
