"""Access tokens as JWTs (RFC 9068 profile) signed with EdDSA, via PyJWT."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
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
# ``client_id`` is issued in every token but not yet required: a token from a process of the
# version before it (a rolling upgrade) lacks it and stands for the first-party client. ADR 0020.


class JwtAccessTokens(AccessTokenIssuer, AccessTokenVerifier, PublicKeySet):
    def __init__(self, keys: KeyRingSource, *, issuer: str, audience: str) -> None:
        self._source = keys
        self._issuer = issuer
        self._audience = audience
        self._ring: KeyRing | None = None
        self._keys()

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
        try:
            kid = _unverified_kid(token)
            self._keys()
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
            return AccessClaims(
                subject=uuid.UUID(payload["sub"]),
                session_id=uuid.UUID(payload["sid"]),
                token_id=str(payload["jti"]),
                roles=tuple(str(role) for role in roles),
                amr=tuple(str(method) for method in amr),
                issued_at=datetime.fromtimestamp(payload["iat"], UTC),
                expires_at=datetime.fromtimestamp(payload["exp"], UTC),
                client_id=client_id,
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
