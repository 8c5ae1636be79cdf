"""Social login's providers: OpenID Connect over httpx, ID tokens checked with PyJWT (ADR 0022).

Each configured provider's endpoints come from its discovery document, whose ``issuer`` must be
the configured one exactly; the document and the JWKS are cached (``oidc_keys``). The code is
exchanged at the token endpoint with the PKCE verifier, the client authenticated as the
document allows (``client_secret_basic``, else ``client_secret_post``); the ID token is checked
by ``oidc_tokens``. Every request has a deadline (5 s in all, 3 s to connect by default): a
provider that does not answer, answers 5xx or answers nonsense is ``ProviderUnavailable``; one
that refuses the code, or whose ID token fails a check, is ``ProviderRejected``. Secrets and
tokens are never logged.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from gatehouse.modules.accounts.application.public import ExternalIdentity
from gatehouse.modules.auth.adapters.oidc_http import ProviderHttp, rejected, unavailable
from gatehouse.modules.auth.adapters.oidc_keys import (
    CachedDocument,
    KeySet,
    ProviderKeys,
    cache_lifetime,
)
from gatehouse.modules.auth.adapters.oidc_metadata import ProviderMetadata
from gatehouse.modules.auth.adapters.oidc_tokens import email_verified, text_claim, verify_id_token
from gatehouse.modules.auth.application.ports import (
    AuthorizationRequest,
    IdentityProvider,
    IdentityProviders,
)
from gatehouse.shared.clock import Clock

log = logging.getLogger("gatehouse.auth")

DEFAULT_SCOPES = ("openid", "email", "profile")
DEFAULT_TIMEOUT = 5.0  # seconds for a whole request, answer included
DEFAULT_CONNECT_TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class OidcProviderConfig:
    """One entry of ``GATEHOUSE_OIDC_PROVIDERS``; ``openid`` is requested even when
    ``scopes`` omits it."""

    name: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = DEFAULT_SCOPES


class OidcIdentityProvider(IdentityProvider):
    def __init__(self, config: OidcProviderConfig, *, http: ProviderHttp, clock: Clock) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._metadata = CachedDocument(
            self._load_metadata, clock, what=f"{config.name}'s discovery document"
        )
        self._keys = ProviderKeys(self._load_keys, clock, what=f"{config.name}'s JWKS")
        self._client_auth: str | None = None  # the method the token endpoint last accepted

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def issuer(self) -> str:
        return self._config.issuer

    async def authorization_url(self, request: AuthorizationRequest) -> str:
        metadata = await self._metadata.get()
        scopes = self._config.scopes
        params = {
            "response_type": "code",
            "client_id": self._config.client_id,
            "redirect_uri": request.redirect_uri,
            "scope": " ".join(scopes if "openid" in scopes else ("openid", *scopes)),
            "state": request.state,
            "nonce": request.nonce,
            "code_challenge": request.code_challenge,
            "code_challenge_method": "S256",
        }
        endpoint = urlsplit(metadata.authorization_endpoint)
        kept = [
            (name, value)
            for name, value in parse_qsl(endpoint.query, keep_blank_values=True)
            if name not in params
        ]
        return urlunsplit(endpoint._replace(query=urlencode([*kept, *params.items()])))

    async def identify(
        self, *, code: str, code_verifier: str, redirect_uri: str, nonce: str
    ) -> ExternalIdentity:
        metadata = await self._metadata.get()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        tokens = await self._exchange(metadata, form)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise rejected(f"{self.name}'s token endpoint gave no ID token")
        claims = await verify_id_token(
            id_token,
            keys=self._keys,
            algorithms=metadata.signing_algorithms,
            issuer=self._config.issuer,
            client_id=self._config.client_id,
            nonce=nonce,
            now=self._clock.now(),
        )
        email, verified = text_claim(claims, "email"), email_verified(claims.get("email_verified"))
        name = text_claim(claims, "name")
        access_token = tokens.get("access_token")
        if email is None and metadata.userinfo_endpoint and isinstance(access_token, str):
            info = await self._userinfo(metadata.userinfo_endpoint, access_token)
            if info.get("sub") != claims["sub"]:
                raise rejected(f"{self.name}'s userinfo is about another subject")
            email, verified = text_claim(info, "email"), email_verified(info.get("email_verified"))
            name = name or text_claim(info, "name")
        return ExternalIdentity(
            provider=self.name,
            issuer=self._config.issuer,
            subject=claims["sub"],
            email=email,
            email_verified=verified and email is not None,
            display_name=name,
        )

    async def _exchange(self, metadata: ProviderMetadata, form: dict[str, str]) -> dict[str, Any]:
        """POST the token request; a client registered for ``client_secret_post`` at a provider
        that offers both is refused with ``invalid_client`` before the code is looked at, so
        the other method is tried then, and remembered."""
        methods = sorted(metadata.client_auth_methods, key=lambda m: m != self._client_auth)
        what = f"{self.name}'s token endpoint"
        for attempt, method in enumerate(methods, start=1):
            data, headers = dict(form), {}
            if method == "client_secret_basic":
                pair = f"{quote(self._config.client_id, safe='')}:"
                pair += quote(self._config.client_secret, safe="")
                headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
            else:
                data.update(client_id=self._config.client_id)
                data.update(client_secret=self._config.client_secret)
            answer = await self._http.send(
                "POST", metadata.token_endpoint, what=what, data=data, headers=headers
            )
            error = answer.oauth_error()
            if error == "invalid_client" and attempt < len(methods):
                log.info("%s refused %s; trying the next method", what, method)
                continue
            if answer.status == 200 and (tokens := answer.json_object()) is not None:
                self._client_auth = method
                return tokens
            if 400 <= answer.status < 500 and answer.status != 429 and error is not None:
                raise rejected(f"{what} refused the code: {error}")
            raise unavailable(f"{what} answered {answer.status} without a token response")
        raise unavailable(f"{what}: no client authentication method to use")

    async def _userinfo(self, endpoint: str, access_token: str) -> dict[str, Any]:
        what = f"{self.name}'s userinfo endpoint"
        answer = await self._http.send(
            "GET", endpoint, what=what, headers={"Authorization": f"Bearer {access_token}"}
        )
        info = answer.json_object() if answer.status == 200 else None
        if 400 <= answer.status < 500 and answer.status != 429:
            raise rejected(f"{what} answered {answer.status}")
        if info is None:
            raise unavailable(f"{what} answered {answer.status} without a JSON object")
        return info

    async def _load_metadata(self) -> tuple[ProviderMetadata, timedelta]:
        what = f"{self.name}'s discovery document"
        url = self._config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        answer = await self._http.send("GET", url, what=what)
        if answer.status != 200:
            raise unavailable(f"{what} answered {answer.status}")
        try:
            metadata = ProviderMetadata.parse(answer.json_object(), self._config.issuer)
        except ValueError as error:
            raise unavailable(f"{what} is not usable: {error}") from error
        return metadata, cache_lifetime(answer.headers.get("cache-control"))

    async def _load_keys(self) -> tuple[KeySet, timedelta]:
        what = f"{self.name}'s JWKS"
        answer = await self._http.send("GET", (await self._metadata.get()).jwks_uri, what=what)
        if answer.status != 200:
            raise unavailable(f"{what} answered {answer.status}")
        try:
            keys = KeySet.parse(answer.json_object())
        except ValueError as error:
            raise unavailable(f"{what} is not usable: {error}") from error
        return keys, cache_lifetime(answer.headers.get("cache-control"))


class OidcIdentityProviders(IdentityProviders):
    """Every configured provider, sharing one HTTP client; ``aclose()`` at shutdown.

    ``timeout``: seconds for a whole request to a provider, ``connect_timeout`` to connect.
    """

    def __init__(
        self,
        configs: Iterable[OidcProviderConfig],
        *,
        clock: Clock,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self._http = ProviderHttp(timeout=timeout, connect_timeout=min(connect_timeout, timeout))
        self._providers: dict[str, OidcIdentityProvider] = {}
        for config in configs:
            if config.name in self._providers:
                raise ValueError(f"two OpenID providers are named {config.name!r}")
            self._providers[config.name] = OidcIdentityProvider(
                config, http=self._http, clock=clock
            )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._providers)

    def get(self, name: str) -> IdentityProvider | None:
        return self._providers.get(name)

    async def aclose(self) -> None:
        await self._http.aclose()
