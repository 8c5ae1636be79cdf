"""Cookie mode in a real browser, for the two deployments the API guide documents.

- Same host: a reverse proxy serves the app's page and the API on one origin,
  ``http://api.example.test:PORT`` (the page at ``/app/``).
- Sibling hosts: the page is on ``http://app.example.test:PORT`` (a static server), the API on
  ``http://api.example.test:PORT2``; CORS lists the app's origin, fetch sends credentials. The
  app cannot read the API host's CSRF cookie, so it uses ``csrf_token`` from the login body.

Both over plain http, so the server runs with ``GATEHOUSE_COOKIE_SECURE=false``.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import PASSWORD, Servers

pytestmark = pytest.mark.xdist_group("browser")


def _open(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("document.getElementById('status').textContent === 'ready'")


def _sign_in_refresh_and_check_csrf(page: Page, email: str) -> str:
    """Log in in cookie mode, be refused without the CSRF header, refresh twice with it."""
    login: dict[str, Any] = page.evaluate("([e, p]) => spa.login(e, p)", [email, PASSWORD])
    assert login["status"] == 200, login
    assert "refresh_token" not in login["body"]
    csrf: str = login["body"]["csrf_token"]
    assert csrf

    refused: dict[str, Any] = page.evaluate("spa.refreshWithoutCsrfHeader()")
    assert refused["status"] == 403, refused
    assert refused["body"]["code"] == "csrf_failed"

    first: dict[str, Any] = page.evaluate("spa.refresh()")
    assert first["status"] == 200, first
    assert first["body"]["access_token"] != login["body"]["access_token"]
    assert first["body"]["csrf_token"] == csrf
    # The rotated refresh cookie was stored and is the one sent now.
    second: dict[str, Any] = page.evaluate("spa.refresh()")
    assert second["status"] == 200, second
    return csrf


def _assert_refresh_cookie(context: BrowserContext) -> None:
    cookies = {c["name"]: c for c in context.cookies() if c["domain"] == "api.example.test"}
    refresh = cookies["gatehouse_refresh"]
    assert refresh["domain"] == "api.example.test"  # host-only: no Domain attribute
    assert refresh["path"] == "/api/v1/auth"
    assert refresh["httpOnly"] is True
    assert refresh["sameSite"] == "Strict"
    assert refresh["secure"] is False  # GATEHOUSE_COOKIE_SECURE=false, plain http
    assert cookies["gatehouse_csrf"]["httpOnly"] is False


def test_same_host_app_signs_in_and_refreshes_in_cookie_mode(
    context: BrowserContext, page: Page, servers: Servers
) -> None:
    _open(page, f"{servers.front}/app/index.html")
    csrf = _sign_in_refresh_and_check_csrf(page, servers.new_account("samehost"))
    _assert_refresh_cookie(context)
    # On the API's own host the page can also read the CSRF cookie; the values agree.
    assert f"gatehouse_csrf={csrf}" in page.evaluate("spa.readableCookies()")
    assert "gatehouse_refresh" not in page.evaluate("spa.readableCookies()")


def test_sibling_subdomain_app_signs_in_and_refreshes_in_cookie_mode(
    context: BrowserContext, page: Page, servers: Servers
) -> None:
    _open(page, f"{servers.app}/app/index.html?api={servers.api}")
    _sign_in_refresh_and_check_csrf(page, servers.new_account("sibling"))
    _assert_refresh_cookie(context)
    # The API host's cookies are not the app host's: the body's csrf_token was needed.
    assert "gatehouse_csrf" not in page.evaluate("spa.readableCookies()")
