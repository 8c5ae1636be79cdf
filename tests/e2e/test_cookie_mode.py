"""Cookie mode: the refresh token in an HttpOnly cookie, CSRF refused in every way it can fail."""

from __future__ import annotations

from http.cookies import SimpleCookie

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, ClientFactory, unique_email, verified_user

REFRESH = "/api/v1/auth/refresh"


def cookies_of(response: httpx.Response) -> dict[str, SimpleCookie]:
    jar: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            jar[name] = cookie
    return jar


async def cookie_login(client: httpx.AsyncClient, settings: Settings) -> tuple[str, str]:
    email = unique_email("cookie")
    await verified_user(client, settings, email)
    response = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD, "cookie": True}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()  # the tests send cookies explicitly, as a browser would
    assert "refresh_token" not in response.json()
    jar = cookies_of(response)
    refresh = jar["gatehouse_refresh"]["gatehouse_refresh"]
    csrf = jar["gatehouse_csrf"]["gatehouse_csrf"]
    assert response.json()["csrf_token"] == csrf.value
    return refresh.value, csrf.value


def assert_rotated_in_cookies(response: httpx.Response, refresh: str) -> None:
    """A cookie-mode refresh's answer: a new refresh token in its cookie, none in the body."""
    assert response.status_code == 200, response.text
    assert "refresh_token" not in response.json()
    rotated = cookies_of(response)["gatehouse_refresh"]["gatehouse_refresh"].value
    assert rotated != refresh


async def test_cookie_login_sets_an_httponly_refresh_cookie_and_a_readable_csrf_cookie(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("cookie")
    await verified_user(client, settings, email)
    response = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD, "cookie": True}
    )
    client.cookies.clear()
    body = response.json()
    assert body["access_token"]
    assert "refresh_token" not in body
    jar = cookies_of(response)
    refresh = jar["gatehouse_refresh"]["gatehouse_refresh"]
    assert refresh["httponly"] is True
    assert refresh["secure"] is True
    assert refresh["samesite"] == "strict"
    assert refresh["path"] == "/api/v1/auth"
    csrf = jar["gatehouse_csrf"]["gatehouse_csrf"]
    assert not csrf["httponly"]
    assert csrf["secure"] is True
    assert csrf["samesite"] == "strict"


async def test_cookie_refresh_with_the_csrf_header_rotates_the_cookie(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    refresh, csrf = await cookie_login(client, settings)
    response = await client.post(
        REFRESH,
        headers={
            "Cookie": f"gatehouse_refresh={refresh}; gatehouse_csrf={csrf}",
            "X-CSRF-Token": csrf,
            "Origin": settings.public_url,
        },
    )
    client.cookies.clear()
    assert_rotated_in_cookies(response, refresh)


async def test_the_contracts_cookie_refresh_body_refreshes_from_the_cookie(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    refresh, csrf = await cookie_login(client, settings)
    cookies = f"gatehouse_refresh={refresh}; gatehouse_csrf={csrf}"
    forged = await client.post(REFRESH, json={"cookie": True}, headers={"Cookie": cookies})
    client.cookies.clear()
    assert forged.status_code == 403  # the CSRF rules hold with a body too
    assert forged.json()["code"] == "csrf_failed"
    response = await client.post(
        REFRESH,
        json={"cookie": True},
        headers={"Cookie": cookies, "X-CSRF-Token": csrf, "Origin": settings.public_url},
    )
    client.cookies.clear()
    assert_rotated_in_cookies(response, refresh)


async def test_a_body_token_with_cookie_true_answers_in_cookies(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("cookie")
    await verified_user(client, settings, email)
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    token = login.json()["refresh_token"]
    response = await client.post(REFRESH, json={"refresh_token": token, "cookie": True})
    client.cookies.clear()
    assert response.status_code == 200, response.text
    assert "refresh_token" not in response.json()
    assert cookies_of(response)["gatehouse_refresh"]["gatehouse_refresh"].value


@pytest.mark.parametrize(
    "case", ["no header", "wrong header", "no csrf cookie", "foreign origin", "another session"]
)
async def test_cookie_refresh_without_a_valid_csrf_proof_is_403(
    client: httpx.AsyncClient, settings: Settings, case: str
) -> None:
    refresh, csrf = await cookie_login(client, settings)
    _, other_csrf = await cookie_login(client, settings)
    cookie = f"gatehouse_refresh={refresh}; gatehouse_csrf={csrf}"
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
    if case == "no header":
        del headers["X-CSRF-Token"]
    elif case == "wrong header":
        headers["X-CSRF-Token"] = "forged"
    elif case == "no csrf cookie":
        headers["Cookie"] = f"gatehouse_refresh={refresh}"
    elif case == "foreign origin":
        headers["Origin"] = "https://evil.example"
    elif case == "another session":  # a CSRF pair that belongs to the attacker's own session
        headers = {
            "Cookie": f"gatehouse_refresh={refresh}; gatehouse_csrf={other_csrf}",
            "X-CSRF-Token": other_csrf,
        }
    response = await client.post(REFRESH, headers=headers)
    client.cookies.clear()
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    # The refresh cookie was not spent: the genuine page can still refresh.
    ok = await client.post(
        REFRESH,
        headers={
            "Cookie": f"gatehouse_refresh={refresh}; gatehouse_csrf={csrf}",
            "X-CSRF-Token": csrf,
        },
    )
    client.cookies.clear()
    assert ok.status_code == 200


async def test_cookie_login_from_a_foreign_origin_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("logincsrf")
    await verified_user(client, settings, email)
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD, "cookie": True},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert "set-cookie" not in response.headers


async def test_refresh_without_body_or_cookie_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(REFRESH)
    assert response.status_code == 401
    assert response.json()["code"] == "refresh_token_invalid"


async def test_logout_clears_the_cookies(client: httpx.AsyncClient, settings: Settings) -> None:
    email = unique_email("cookieout")
    await verified_user(client, settings, email)
    login = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD, "cookie": True}
    )
    client.cookies.clear()
    response = await client.post(
        "/api/v1/auth/logout",
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
    )
    assert response.status_code == 204
    cleared = cookies_of(response)
    assert cleared["gatehouse_refresh"]["gatehouse_refresh"]["max-age"] == "0"
    assert cleared["gatehouse_csrf"]["gatehouse_csrf"]["max-age"] == "0"


async def test_cookie_mode_answers_carry_the_csrf_value_in_the_body_too(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # An app on a sibling host (app.example.com beside api.example.com) cannot read the API
    # host's gatehouse_csrf cookie: it reads csrf_token from the body and echoes it.
    refresh, csrf = await cookie_login(client, settings)
    response = await client.post(
        REFRESH,
        json={"cookie": True},
        headers={
            "Cookie": f"gatehouse_refresh={refresh}; gatehouse_csrf={csrf}",
            "X-CSRF-Token": csrf,
            "Origin": settings.public_url,
        },
    )
    client.cookies.clear()
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["csrf_token"] == csrf  # one value per session, bound to it
    assert cookies_of(response)["gatehouse_csrf"]["gatehouse_csrf"].value == csrf


async def test_body_mode_answers_have_no_csrf_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("bodymode")
    await verified_user(client, settings, email)
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert "csrf_token" not in login.json()
    refreshed = await client.post(REFRESH, json={"refresh_token": login.json()["refresh_token"]})
    assert refreshed.status_code == 200
    assert "csrf_token" not in refreshed.json()
    assert "set-cookie" not in refreshed.headers


async def test_with_cookie_secure_off_the_cookies_are_not_secure(
    make_client: ClientFactory, settings: Settings
) -> None:
    async with make_client(cookie_secure=False) as client:
        email = unique_email("insecure")
        await verified_user(client, settings, email)
        login = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD, "cookie": True}
        )
        client.cookies.clear()
        jar = cookies_of(login)
        for name in ("gatehouse_refresh", "gatehouse_csrf"):
            assert not jar[name][name]["secure"], name
            assert jar[name][name]["samesite"] == "strict"
        assert jar["gatehouse_refresh"]["gatehouse_refresh"]["httponly"] is True
        out = await client.post(
            "/api/v1/auth/logout",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        cleared = cookies_of(out)
        for name in ("gatehouse_refresh", "gatehouse_csrf"):
            assert cleared[name][name]["max-age"] == "0"
            assert not cleared[name][name]["secure"], name
