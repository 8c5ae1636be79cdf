"""The checks an ID token must pass (OpenID Connect Core 3.1.3.7), and the claims read from it.

The signature is verified with a key of the issuer's JWKS, under an asymmetric algorithm the
provider advertises and the key is made for (never ``none``, never HS*); ``iss`` is the
configured issuer exactly; ``aud`` holds our client id, and ``azp`` is our client id whenever
``aud`` has several values or ``azp`` is present; ``exp``, ``iat`` and ``nonce`` are required,
times are checked on the injected clock with 60 s of leeway; ``sub`` is 1 to 255 characters.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from gatehouse.modules.auth.adapters.oidc_keys import ProviderKeys
from gatehouse.modules.auth.domain.errors import ProviderRejected

LEEWAY = timedelta(seconds=60)
MAX_SUBJECT_LENGTH = 255
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "nonce"]


async def verify_id_token(
    token: str,
    *,
    keys: ProviderKeys,
    algorithms: frozenset[str],
    issuer: str,
    client_id: str,
    nonce: str,
    now: datetime,
) -> dict[str, Any]:
    """The ID token's claims once every check passed; raises ``ProviderRejected`` (or
    ``ProviderUnavailable`` when the JWKS cannot be had). ``algorithms``: the asymmetric ones
    the provider advertises."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise ProviderRejected("the ID token is not a signed JWT") from error
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg not in algorithms:
        msg = f"the ID token is signed with {alg!r}, not an algorithm accepted from the provider"
        raise ProviderRejected(msg)
    if kid is not None and not isinstance(kid, str):
        raise ProviderRejected("the ID token's kid is not a string")
    key = await keys.key(kid, alg)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=client_id,
            issuer=issuer,
            options={
                "require": REQUIRED_CLAIMS,
                # Times are checked below, on the injected clock.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "enforce_minimum_key_length": True,
            },
        )
    except jwt.MissingRequiredClaimError as error:
        raise ProviderRejected(f"the ID token has no {error.claim}") from error
    except jwt.InvalidAudienceError as error:
        raise ProviderRejected("the ID token is not meant for this client (aud)") from error
    except jwt.InvalidIssuerError as error:
        raise ProviderRejected("the ID token's iss is not the provider's issuer") from error
    except jwt.InvalidSignatureError as error:
        raise ProviderRejected("the ID token's signature does not verify") from error
    except jwt.PyJWTError as error:
        raise ProviderRejected(f"the ID token is not valid: {type(error).__name__}") from error
    _check_times(claims, now)
    _check_authorized_party(claims, client_id)
    sent = claims["nonce"]
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise ProviderRejected("the ID token's nonce is not the one this sign-in sent")
    subject = claims["sub"]
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
        raise ProviderRejected(f"the ID token's sub is not 1 to {MAX_SUBJECT_LENGTH} characters")
    return claims


def _time(claims: Mapping[str, Any], name: str) -> datetime:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProviderRejected(f"the ID token's {name} is not a number")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise ProviderRejected(f"the ID token's {name} is out of range") from error


def _check_times(claims: Mapping[str, Any], now: datetime) -> None:
    if _time(claims, "exp") <= now - LEEWAY:
        raise ProviderRejected("the ID token has expired")
    if _time(claims, "iat") > now + LEEWAY:
        raise ProviderRejected("the ID token is issued in the future")
    if "nbf" in claims and _time(claims, "nbf") > now + LEEWAY:
        raise ProviderRejected("the ID token is not valid yet")


def _check_authorized_party(claims: Mapping[str, Any], client_id: str) -> None:
    """OpenID Connect Core 3.1.3.7, items 4 and 5: with several audiences, or an ``azp``, the
    token must be authorized to us (closes "aud=[other, us], azp=other")."""
    audience = claims["aud"]
    several = isinstance(audience, list) and len(audience) > 1
    if (several or "azp" in claims) and claims.get("azp") != client_id:
        raise ProviderRejected("the ID token is authorized to another client (azp)")


def email_verified(value: object) -> bool:
    """``email_verified`` as providers send it: only ``true`` or the string ``"true"``."""
    return value is True or value == "true"


def text_claim(claims: Mapping[str, Any], name: str) -> str | None:
    """A claim that should be a non-empty string, else ``None``."""
    value = claims.get(name)
    return value if isinstance(value, str) and value else None
