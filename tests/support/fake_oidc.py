"""A fake OpenID provider, for what a real one will not do: mint bad ID tokens, break.

Fixture ``fake_oidc`` yields a :class:`FakeOidcProvider`, reset to a well-behaved provider for
each test: a Starlette app served by uvicorn on 127.0.0.1 (a port of its own, in a thread of
the session, ready before the first test uses it). Point the code under test at ``.issuer``
with ``.client_id`` and ``.client_secret`` (``.config()`` gives an ``OidcProviderConfig``,
``.setting()`` an entry of ``GATEHOUSE_OIDC_PROVIDERS``); any ``redirect_uri`` is accepted.
:func:`sign_in` runs a whole sign-in through an ``IdentityProvider`` (the adapter under test).

Endpoints: discovery; JWKS (ES256 keys plus one RSA key); ``/authorize``, which redirects at
once to the ``redirect_uri`` with a ``code``, the ``state`` and ``iss`` (``await
.authorize(url)`` follows it and returns that query); ``/token``, which checks the client's
authentication, the PKCE verifier (S256) and the ``redirect_uri``, spends the code and answers
as ``.mode`` says (:class:`Mode`, from fake_oidc_tokens.py); ``/userinfo`` for its access tokens.

Knobs (all reset per test): ``mode``; ``subject``, ``email``, ``email_verified`` (sent as
set: ``"true"``, ``1``...), ``name``; ``clock`` (tokens' ``iat``/``exp``: give it the test's
``FixedClock``); ``jwks_cache_control`` and ``discovery_cache_control`` (``None``: no header);
``jwks_fails`` (the JWKS answers 503); ``auth_methods`` (advertised
``token_endpoint_auth_methods_supported``, ``None``: not advertised) and ``registered_auth_method``
(the one the token endpoint takes; ``None``: any advertised); ``advertised_issuer``;
``signing_algs`` (advertised, ``ES256`` with ``HS256`` and ``none`` by default, which nothing
may accept); ``rotate_key()`` publishes a new key and signs with it from then on.

Records: ``discovery_requests``, ``jwks_requests``, ``userinfo_requests`` (counts) and
``token_requests`` (each :class:`TokenRequest`'s form and ``Authorization`` header).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from gatehouse.modules.accounts.application.public import ExternalIdentity
from gatehouse.modules.auth.adapters.oidc import OidcProviderConfig
from gatehouse.modules.auth.application.ports import AuthorizationRequest, IdentityProvider
from gatehouse.shared.clock import Clock, SystemClock
from tests.support.fake_oidc_tokens import Mode, SigningKey, ec_key, id_token
from tests.support.oidc_provider import pkce_pair
from tests.support.processes import HOST, wait_until

__all__ = [
    "REDIRECT_URI",
    "FakeOidcProvider",
    "Mode",
    "TokenRequest",
    "fake_oidc",
    "fake_oidc_server",
    "sign_in",
]

SLOW_SECONDS = 3.0  # how long Mode.TOKEN_SLOW keeps the token request waiting


@dataclass(frozen=True, slots=True)
class TokenRequest:
    form: dict[str, str]
    authorization: str | None


@dataclass(frozen=True, slots=True)
class _Grant:
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None


async def _hang_up(request: Request) -> None:
    """Return when the client closes the connection (its body was read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _b64url_sha256(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


class FakeOidcProvider:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.client_id = "gatehouse-fake"
        self.client_secret = secrets.token_urlsafe(32)  # made per run: nothing committed
        self._primary = ec_key()
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        self._rsa = SigningKey("rsa-key", private, {**jwk, "kid": "rsa-key", "use": "sig"})
        self.reset()

    def reset(self) -> None:
        self.mode = Mode.GOOD
        self.subject, self.email, self.name = "fake-subject", "fake@example.test", "Fake User"
        self.email_verified: object = True
        self.clock: Clock = SystemClock()
        self.jwks_cache_control: str | None = None
        self.discovery_cache_control: str | None = None
        self.jwks_fails = False
        self.auth_methods: list[str] | None = ["client_secret_basic", "client_secret_post"]
        self.registered_auth_method: str | None = None
        self.advertised_issuer: str | None = None
        self.signing_algs = ["ES256", "HS256", "none"]
        self.discovery_requests = self.jwks_requests = self.userinfo_requests = 0
        self.token_requests: list[TokenRequest] = []
        self._published = [self._primary, self._rsa]
        self._signing = self._primary
        self._grants: dict[str, _Grant] = {}
        self._access: dict[str, str] = {}  # access token -> subject

    def config(self, name: str = "fake") -> OidcProviderConfig:
        return OidcProviderConfig(name, self.issuer, self.client_id, self.client_secret)

    def setting(self, name: str = "fake") -> dict[str, str]:
        return {
            "name": name,
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    def rotate_key(self) -> None:
        self._signing = ec_key()
        self._published.append(self._signing)

    async def authorize(self, url: str) -> dict[str, str]:
        """GET an authorization URL of this provider; the query it redirects back with."""
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
        assert response.is_redirect, response.text
        return dict(parse_qsl(urlsplit(response.headers["location"]).query))

    # ---------------------------------------------------------------- endpoints
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/userinfo", self._userinfo),
            ]
        )

    def _cached(self, body: dict[str, Any], cache_control: str | None) -> JSONResponse:
        headers = {} if cache_control is None else {"Cache-Control": cache_control}
        return JSONResponse(body, headers=headers)

    async def _discovery(self, request: Request) -> Response:
        self.discovery_requests += 1
        document: dict[str, Any] = {
            "issuer": self.advertised_issuer or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize?tenant=fake",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": self.signing_algs,
            "code_challenge_methods_supported": ["S256"],
        }
        if self.auth_methods is not None:
            document["token_endpoint_auth_methods_supported"] = self.auth_methods
        return self._cached(document, self.discovery_cache_control)

    async def _jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        if self.jwks_fails:
            return PlainTextResponse("down", status_code=503)
        keys = [key.jwk for key in self._published]
        return self._cached({"keys": keys}, self.jwks_cache_control)

    async def _authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != self.client_id or "redirect_uri" not in query:
            return PlainTextResponse("unknown client or no redirect_uri", status_code=400)
        code = secrets.token_urlsafe(16)
        self._grants[code] = _Grant(
            query["redirect_uri"], query.get("nonce"), query.get("code_challenge")
        )
        back = {"code": code, "state": query.get("state", ""), "iss": self.issuer}
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode(back)}", status_code=302)

    def _client_authenticated(self, form: dict[str, str], authorization: str | None) -> bool:
        if authorization is not None and authorization.startswith("Basic "):
            method = "client_secret_basic"
            decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
            client_id, _, secret = (unquote(part) for part in decoded.partition(":"))
        else:
            method = "client_secret_post"
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if self.registered_auth_method is not None:
            accepted = [self.registered_auth_method]
        else:
            accepted = self.auth_methods or ["client_secret_basic"]  # the spec's default
        return method in accepted and (client_id, secret) == (self.client_id, self.client_secret)

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        authorization = request.headers.get("authorization")
        self.token_requests.append(TokenRequest(form, authorization))
        if self.mode is Mode.TOKEN_SLOW:  # stall until the client hangs up, or SLOW_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_hang_up(request), SLOW_SECONDS)
                return Response(status_code=499)  # nobody is listening any more
        if self.mode is Mode.TOKEN_SERVER_ERROR:
            return PlainTextResponse("internal error", status_code=500)
        if self.mode is Mode.TOKEN_NOT_JSON:
            return Response("<html>maintenance</html>", media_type="text/html")
        if not self._client_authenticated(form, authorization):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self._grants.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        if (
            self.mode is Mode.INVALID_GRANT
            or grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != grant.redirect_uri
            or grant.code_challenge != _b64url_sha256(verifier)
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        access_token = secrets.token_urlsafe(24)
        self._access[access_token] = self.subject
        id_token = self._id_token(grant)
        body = {"access_token": access_token, "token_type": "Bearer", "id_token": id_token}
        if self.mode is Mode.NO_ID_TOKEN:
            del body["id_token"]
        return JSONResponse({**body, "expires_in": 300}, headers={"Cache-Control": "no-store"})

    async def _userinfo(self, request: Request) -> Response:
        self.userinfo_requests += 1
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        subject = self._access.get(token)
        if subject is None or self.mode is Mode.USERINFO_REFUSED:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        if self.mode is Mode.USERINFO_OTHER_SUB:
            subject = "another-subject"
        info = {"sub": subject, "email": self.email, "email_verified": self.email_verified}
        return JSONResponse({**info, "name": self.name})

    def _id_token(self, grant: _Grant) -> str:
        now = int(self.clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": self.client_id,
            "exp": now + 300,
            "iat": now,
            "nonce": grant.nonce,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.name,
        }
        return id_token(self.mode, claims, self._signing, rsa=self._rsa, secret=self.client_secret)


REDIRECT_URI = "http://127.0.0.1/oauth/callback"


async def sign_in(
    fake: FakeOidcProvider,
    provider: IdentityProvider,
    *,
    verifier: str | None = None,
    nonce: str | None = None,
) -> ExternalIdentity:
    """A whole sign-in through ``provider`` (the adapter under test) at ``fake``: its
    authorization URL, the fake's redirect back, the code exchanged. ``verifier`` and ``nonce``:
    send other ones than the authorization request was made with."""
    code_verifier, challenge = pkce_pair()
    sent_nonce = secrets.token_urlsafe(16)
    request = AuthorizationRequest(secrets.token_urlsafe(16), sent_nonce, challenge, REDIRECT_URI)
    query = await fake.authorize(await provider.authorization_url(request))
    assert query["state"] == request.state, query
    return await provider.identify(
        code=query["code"],
        code_verifier=verifier or code_verifier,
        redirect_uri=REDIRECT_URI,
        nonce=nonce or sent_nonce,
    )


@pytest.fixture(scope="session")
def fake_oidc_server() -> Iterator[FakeOidcProvider]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((HOST, 0))
    port = listener.getsockname()[1]
    fake = FakeOidcProvider(f"http://{HOST}:{port}")
    config = uvicorn.Config(
        fake.app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), "the fake OpenID provider")
        assert server.started, "the fake OpenID provider did not start"
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.fixture
def fake_oidc(fake_oidc_server: FakeOidcProvider) -> FakeOidcProvider:
    """The session's fake OpenID provider, reset to a well-behaved one (module docstring)."""
    fake_oidc_server.reset()
    return fake_oidc_server
