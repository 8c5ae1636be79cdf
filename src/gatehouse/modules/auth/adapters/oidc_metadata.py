"""What Gatehouse takes from an OpenID provider's discovery document (OpenID Connect
Discovery 1.0, section 3), checked: the issuer is the configured one exactly, and every endpoint
is an ``https`` URL (``http`` only on a loopback host, as for the issuer itself)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gatehouse.modules.auth.adapters.oidc_keys import ASYMMETRIC_ALGORITHMS

# The client authentications Gatehouse does, most preferred first (Basic is the spec default).
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    signing_algorithms: frozenset[str]  # advertised for ID tokens, and asymmetric
    client_auth_methods: tuple[str, ...]  # of CLIENT_AUTH_METHODS, in that order

    @classmethod
    def parse(cls, document: dict[str, Any] | None, issuer: str) -> ProviderMetadata:
        """Raises ``ValueError`` saying what is wrong with the document."""
        if document is None:
            raise ValueError("not a JSON object")
        if document.get("issuer") != issuer:
            raise ValueError(f"its issuer is {document.get('issuer')!r}, not {issuer!r}")
        advertised = _strings(document, "id_token_signing_alg_values_supported", ["RS256"])
        algorithms = frozenset(advertised) & ASYMMETRIC_ALGORITHMS
        if not algorithms:
            raise ValueError(f"it signs ID tokens with none of {sorted(ASYMMETRIC_ALGORITHMS)}")
        offered = _strings(
            document, "token_endpoint_auth_methods_supported", [CLIENT_AUTH_METHODS[0]]
        )
        methods = tuple(method for method in CLIENT_AUTH_METHODS if method in offered)
        if not methods:
            raise ValueError(f"its token endpoint takes none of {list(CLIENT_AUTH_METHODS)}")
        userinfo = document.get("userinfo_endpoint")
        return cls(
            authorization_endpoint=_endpoint(document, "authorization_endpoint"),
            token_endpoint=_endpoint(document, "token_endpoint"),
            jwks_uri=_endpoint(document, "jwks_uri"),
            userinfo_endpoint=None
            if userinfo is None
            else _endpoint(document, "userinfo_endpoint"),
            signing_algorithms=algorithms,
            client_auth_methods=methods,
        )


def _strings(document: dict[str, Any], name: str, default: list[str]) -> list[str]:
    value = document.get(name, default)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"its {name} is not a list of strings")
    return value


def _endpoint(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str):
        raise ValueError(f"it has no {name}")
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return value
    raise ValueError(f"its {name} is not an https URL")


def is_loopback(host: str | None) -> bool:
    """``localhost``, or an address in 127.0.0.0/8 or ``::1``."""
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
