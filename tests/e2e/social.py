"""Social login driven end to end: the app in process, a real OpenID provider (npm
``oidc-provider``) or the tests' fake one, and the browser's part played over HTTP.

``SocialBrowser`` is one browser: it keeps its own ``gatehouse_oauth`` binding cookie (sent by
hand: the test client speaks plain http and the cookie is ``Secure``), follows the app's
redirect to the provider, signs in there as a subject, and comes back to the callback.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest_asyncio

from gatehouse.main.settings import OidcProviderSetting
from tests.e2e.conftest import ClientFactory, bearer
from tests.support.oidc_provider import APP_CALLBACK, OidcProvider, drive_login

APP = "https://app.example.com/signed-in"  # the one allowed redirect_to in these tests
PROVIDER = "test-idp"
CALLBACK = APP_CALLBACK
OAUTH = "/api/v1/auth/oauth"


def provider_setting(issuer: str, client_id: str, client_secret: str) -> OidcProviderSetting:
    return OidcProviderSetting.model_validate(
        {
            "name": PROVIDER,
            "issuer": issuer,
            "client_id": client_id,
            "client_secret": client_secret,
        }
    )


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def set_cookie(response: httpx.Response, name: str) -> Any:
    """The ``Set-Cookie`` of ``name`` in the response, parsed (``None`` if absent)."""
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if name in cookie:
            return cookie[name]
    return None


@dataclass
class SocialBrowser:
    client: httpx.AsyncClient  # the app
    # Signs in at the provider: (authorization_url, subject) -> the callback's query.
    at_provider: Callable[[str, str], Awaitable[dict[str, str]]]
    binding: str | None = None
    history: list[httpx.Response] = field(default_factory=list)

    def _cookie_header(self) -> dict[str, str]:
        return {} if self.binding is None else {"Cookie": f"gatehouse_oauth={self.binding}"}

    def _keep_binding(self, response: httpx.Response) -> None:
        cookie = set_cookie(response, "gatehouse_oauth")
        if cookie is not None:
            self.binding = cookie.value

    async def authorize(self, redirect_to: str = APP, provider: str = PROVIDER) -> httpx.Response:
        response = await self.client.get(
            f"{OAUTH}/{provider}/authorize",
            params={"redirect_to": redirect_to},
            headers=self._cookie_header(),
        )
        self._keep_binding(response)
        self.history.append(response)
        return response

    async def link(self, headers: dict[str, str], redirect_to: str = APP) -> httpx.Response:
        response = await self.client.post(
            f"/api/v1/me/identities/{PROVIDER}",
            json={"redirect_to": redirect_to},
            headers={**headers, **self._cookie_header()},
        )
        self._keep_binding(response)
        return response

    async def sign_in_at_provider(self, authorization_url: str, subject: str) -> dict[str, str]:
        """Sign in at the provider; the query it sends the browser back to the callback with."""
        return await self.at_provider(authorization_url, subject)

    async def callback(self, query: dict[str, str], provider: str = PROVIDER) -> httpx.Response:
        return await self.client.get(
            f"{OAUTH}/{provider}/callback", params=query, headers=self._cookie_header()
        )

    async def returns_to_app(self, subject: str, redirect_to: str = APP) -> dict[str, str]:
        """The whole browser trip: authorize, the provider, the callback; the query the
        browser lands on the app with (``code`` or ``error``)."""
        started = await self.authorize(redirect_to)
        assert started.status_code == 302, started.text
        query = await self.sign_in_at_provider(started.headers["location"], subject)
        back = await self.callback(query)
        assert back.status_code == 302, back.text
        location = back.headers["location"]
        assert location.startswith(redirect_to + "?"), location
        return query_of(location)

    async def exchange(self, code: str, **extra: Any) -> httpx.Response:
        return await self.client.post(f"{OAUTH}/exchange", json={"code": code, **extra})

    async def sign_in(self, subject: str) -> dict[str, Any]:
        """A social sign-in that ends in a token pair."""
        landed = await self.returns_to_app(subject)
        assert "code" in landed, landed
        response = await self.exchange(landed["code"])
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def subject(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def email_of(sub: str) -> str:
    return f"{sub}@example.test"


@pytest_asyncio.fixture(loop_scope="session", name="app")
async def social_app(
    make_client: ClientFactory, oidc_provider: OidcProvider
) -> AsyncIterator[httpx.AsyncClient]:
    setting = provider_setting(
        oidc_provider.issuer, oidc_provider.client_id, oidc_provider.client_secret
    )
    async with make_client(oidc_providers=(setting,), oauth_redirect_urls=(APP,)) as client:
        yield client


async def at_provider(url: str, sub: str) -> dict[str, str]:
    async with httpx.AsyncClient() as provider_browser:
        return await drive_login(provider_browser, url, sub, CALLBACK)


def browser(app: httpx.AsyncClient) -> SocialBrowser:
    return SocialBrowser(app, at_provider)


async def me(app: httpx.AsyncClient, pair: dict[str, Any]) -> dict[str, Any]:
    response = await app.get("/api/v1/me", headers=bearer(pair))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
