"""Access tokens as JWTs (RFC 9068 profile) signed with EdDSA, via PyJWT.

A token that verified is remembered (``VERIFIED_CACHE_SIZE`` of them, by a digest of the whole
token) with its ``kid`` and ``exp``: a client sends the same access token with every request
for its lifetime, and the Ed25519 verification was about 40 % of the CPU of ``GET /me``. On
every use of a remembered token its signing key must still be in the ring and ``exp`` still
ahead (with the same leeway); anything else is verified in full. The revocation check that
follows (the session) is never remembered. ADR 0011's update.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import jwt

from gatehouse.modules.auth.adapters.keys import ALGORITHM, KeyRing, KeyRingSource, public_jwk
from gatehouse.modules.auth.application.ports import (
    AccessTokenIssuer,
    AccessTokenVerifier,
    PublicKeySet,
)
from gatehouse.modules.auth.domain.errors import InvalidAccessToken
from gatehouse.modules.auth.domain.model import FIRST_PARTY_CLIENT_ID, AccessClaims

TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "sid"]
VERIFIED_CACHE_SIZE = 1024  # about 0.7 MiB when full
# ``client_id`` is issued in every token but not yet required: a token from a process of the
# version before it (a rolling upgrade) lacks it and stands for the first-party client. ADR 0020.


class JwtAccessTokens(AccessTokenIssuer, AccessTokenVerifier, PublicKeySet):
    def __init__(
        self,
        keys: KeyRingSource,
        *,
        issuer: str,
        audience: str,
        wall_clock: Callable[[], float] = time.time,
        cache_size: int = VERIFIED_CACHE_SIZE,
    ) -> None:
        self._source = keys
        self._issuer = issuer
        self._audience = audience
        self._ring: KeyRing | None = None
        self._keys()
        self._now = wall_clock
        self._cache_size = cache_size
        # digest of the token -> (kid, exp, claims); oldest first, the oldest goes when full
        self._verified: dict[bytes, tuple[str, int, AccessClaims]] = {}

    def _keys(self) -> KeyRing:
        """The ring as of now, with its public keys and JWKS derived once per change."""
        ring = self._source.current()
        if ring is not self._ring:
            self._public = ring.public_keys()
            self._jwks = {
                "keys": [
                    {**public_jwk(key.public_key), "kid": key.kid, "use": "sig", "alg": ALGORITHM}
                    for key in ring.keys
                ]
            }
            self._ring = ring
        return ring

    def issue(self, claims: AccessClaims) -> str:
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(claims.subject),
            "exp": int(claims.expires_at.timestamp()),
            "iat": int(claims.issued_at.timestamp()),
            "jti": claims.token_id,
            "sid": str(claims.session_id),
            "roles": list(claims.roles),
            "amr": list(claims.amr),
            "client_id": claims.client_id,
        }
        active = self._keys().active
        return jwt.encode(
            payload,
            active.private_key,
            algorithm=ALGORITHM,
            headers={"kid": active.kid, "typ": TOKEN_TYPE},
        )

    def verify(self, token: str) -> AccessClaims:
        self._keys()
        digest = hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        remembered = self._verified.get(digest)
        if remembered is not None:
            kid, exp, claims = remembered
            if kid in self._public and exp > self._now() - LEEWAY_SECONDS:
                return claims
            del self._verified[digest]
        kid, exp, claims = self._verify(token)
        if self._cache_size > 0:
            if len(self._verified) >= self._cache_size:
                del self._verified[next(iter(self._verified))]
            self._verified[digest] = (kid, exp, claims)
        return claims

    def _verify(self, token: str) -> tuple[str, int, AccessClaims]:
        """The whole check, by PyJWT: the ``kid``, ``exp`` and claims of a valid token."""
        try:
            kid = _unverified_kid(token)
            key = self._public.get(kid)
            if key is None:
                raise InvalidAccessToken
            decoded = jwt.api_jwt.decode_complete(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
            )
            header, payload = decoded["header"], decoded["payload"]
            # The header PyJWT parsed and verified is the one that counts.
            if header.get("kid") != kid or header.get("typ") != TOKEN_TYPE:
                raise InvalidAccessToken
            roles = payload.get("roles", [])
            amr = payload.get("amr", [])
            client_id = payload.get("client_id", FIRST_PARTY_CLIENT_ID)
            if not isinstance(roles, list) or not isinstance(amr, list):
                raise InvalidAccessToken
            if not isinstance(client_id, str):
                raise InvalidAccessToken
            exp = payload["exp"]
            # PyJWT checked it against its clock; the remembered token is checked on ours.
            if not isinstance(exp, int) or exp <= self._now() - LEEWAY_SECONDS:
                raise InvalidAccessToken
            return (
                kid,
                exp,
                AccessClaims(
                    subject=uuid.UUID(payload["sub"]),
                    session_id=uuid.UUID(payload["sid"]),
                    token_id=str(payload["jti"]),
                    roles=tuple(str(role) for role in roles),
                    amr=tuple(str(method) for method in amr),
                    issued_at=datetime.fromtimestamp(payload["iat"], UTC),
                    expires_at=datetime.fromtimestamp(exp, UTC),
                    client_id=client_id,
                ),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise InvalidAccessToken from error

    def jwks(self) -> Mapping[str, Any]:
        self._keys()
        return self._jwks

    def cache_seconds(self) -> int:
        return self._source.cache_seconds()


def _unverified_kid(token: str) -> str:
    """The header's ``kid``, only to pick the key; PyJWT then parses and checks the token.

    ``jwt.get_unverified_header`` validates the whole token's encoding character by character,
    which ``decode`` does again: a second pass costing about a twentieth of a ``GET /me``.
    """
    segment = token.partition(".")[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    kid = header.get("kid") if isinstance(header, dict) else None
    if not isinstance(kid, str):
        raise InvalidAccessToken
    return kid
