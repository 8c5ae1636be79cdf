"""The ID tokens the fake OpenID provider (tests/support/fake_oidc.py) mints: a good one, or
one that breaks one rule, as its ``mode`` says. Keys are generated at test time."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

OTHER_CLIENT = "someone-else"


class Mode(StrEnum):
    """What ``/token`` answers: a good ID token, a bad one, or no token at all."""

    GOOD = "good"
    WRONG_AUD = "wrong_aud"  # aud: another client
    AUD_LIST_AZP_OTHER = "aud_list_azp_other"  # aud: [another, ours], azp: another
    AUD_OTHER_AZP_OURS = "aud_other_azp_ours"  # aud: another, azp: ours
    AUD_LIST_WITHOUT_AZP = "aud_list_without_azp"  # aud: [ours, another], no azp
    AUD_LIST_AZP_OURS = "aud_list_azp_ours"  # aud: [ours, another], azp: ours (acceptable)
    WRONG_ISS = "wrong_iss"
    WRONG_NONCE = "wrong_nonce"
    MISSING_NONCE = "missing_nonce"
    EXPIRED = "expired"  # exp ten minutes ago
    MISSING_EXP = "missing_exp"
    MISSING_IAT = "missing_iat"
    MISSING_SUB = "missing_sub"
    LONG_SUB = "long_sub"  # 256 characters
    ALG_NONE = "alg_none"  # unsigned
    HS256_CLIENT_SECRET = "hs256_client_secret"  # HMAC keyed with the client secret
    UNKNOWN_KID = "unknown_kid"  # signed by a key the JWKS does not hold, a new kid each time
    FORGED_SIGNATURE = "forged_signature"  # names the published key; signed by another one
    NO_KID = "no_kid"  # ES256 with no kid in the header (fine while one ES256 key is published)
    NOT_A_JWT = "not_a_jwt"
    NO_ID_TOKEN = "no_id_token"  # a token response without id_token
    RS256_NOT_ADVERTISED = "rs256_not_advertised"  # published RSA key; RS256 not advertised
    KID_OF_RSA_KEY = "kid_of_rsa_key"  # ES256, naming the published RSA key
    TOKEN_SERVER_ERROR = "token_server_error"  # 500
    TOKEN_SLOW = "token_slow"  # a good answer after SLOW_SECONDS
    TOKEN_NOT_JSON = "token_not_json"  # 200 with an HTML page
    INVALID_GRANT = "invalid_grant"  # 400 {"error": "invalid_grant"}
    USERINFO = "userinfo"  # no email in the ID token; /userinfo has it
    USERINFO_OTHER_SUB = "userinfo_other_sub"  # ... but about another subject
    USERINFO_REFUSED = "userinfo_refused"  # ... which answers 401


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private: Any
    jwk: dict[str, Any]


def ec_key() -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    kid = secrets.token_hex(8)
    return SigningKey(kid, private, {**jwk, "kid": kid, "use": "sig", "alg": "ES256"})


def id_token(
    mode: Mode, claims: dict[str, Any], key: SigningKey, *, rsa: SigningKey, secret: str
) -> str:
    """``claims`` (a good token's, ``aud`` our client id) changed as ``mode`` says, signed with
    ``key`` (ES256), or as the mode says: unsigned, HS256 with the client ``secret``, with an
    unpublished key, with the published ``rsa`` key."""
    issuer, client_id, now = claims["iss"], claims["aud"], claims["iat"]
    audiences = {
        Mode.WRONG_AUD: (OTHER_CLIENT, None),
        Mode.AUD_LIST_AZP_OTHER: ([OTHER_CLIENT, client_id], OTHER_CLIENT),
        Mode.AUD_OTHER_AZP_OURS: (OTHER_CLIENT, client_id),
        Mode.AUD_LIST_WITHOUT_AZP: ([client_id, OTHER_CLIENT], None),
        Mode.AUD_LIST_AZP_OURS: ([client_id, OTHER_CLIENT], client_id),
    }
    if mode in audiences:
        claims["aud"], azp = audiences[mode]
        if azp is not None:
            claims["azp"] = azp
    changes: dict[Mode, dict[str, Any]] = {
        Mode.WRONG_ISS: {"iss": f"{issuer}/other"},
        Mode.WRONG_NONCE: {"nonce": secrets.token_urlsafe(16)},
        Mode.EXPIRED: {"exp": now - 600, "iat": now - 900},
        Mode.LONG_SUB: {"sub": "s" * 256},
    }
    claims.update(changes.get(mode, {}))
    missing = {
        Mode.MISSING_NONCE: "nonce",
        Mode.MISSING_EXP: "exp",
        Mode.MISSING_IAT: "iat",
        Mode.MISSING_SUB: "sub",
    }
    claims.pop(missing.get(mode, ""), None)
    if mode in (Mode.USERINFO, Mode.USERINFO_OTHER_SUB, Mode.USERINFO_REFUSED):
        for claim in ("email", "email_verified", "name"):
            claims.pop(claim)
    alg, kid = "ES256", key.kid
    if mode is Mode.NOT_A_JWT:
        return "not-a-jwt"
    if mode is Mode.ALG_NONE:
        return jwt.encode(claims, "", algorithm="none")
    if mode is Mode.HS256_CLIENT_SECRET:
        return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": key.kid})
    if mode is Mode.UNKNOWN_KID:
        key = ec_key()
        kid = key.kid
    elif mode is Mode.FORGED_SIGNATURE:
        key = ec_key()
    elif mode is Mode.RS256_NOT_ADVERTISED:
        key, alg, kid = rsa, "RS256", rsa.kid
    elif mode is Mode.KID_OF_RSA_KEY:
        kid = rsa.kid
    headers = {} if mode is Mode.NO_KID else {"kid": kid}
    return jwt.encode(claims, key.private, algorithm=alg, headers=headers)
