"""``POST /auth/token``: RFC 6749 grants and error bodies, as a standard OAuth client sees them."""

from __future__ import annotations

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, bearer, unique_email, verified_user

TOKEN = "/api/v1/auth/token"


async def test_password_grant_then_refresh_token_grant(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("oauth")
    await verified_user(client, settings, email)

    issued = await client.post(
        TOKEN, data={"grant_type": "password", "username": email, "password": PASSWORD}
    )
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert issued.headers["cache-control"] == "no-store"
    assert issued.headers["pragma"] == "no-cache"
    me = await client.get("/api/v1/me", headers=bearer(body))
    assert me.json()["email"] == email

    refreshed = await client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != body["refresh_token"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"grant_type": "password", "username": "nobody@example.com", "password": "x" * 12},
            "invalid_grant",
        ),
        ({"grant_type": "refresh_token", "refresh_token": "not-a-token"}, "invalid_grant"),
        ({"grant_type": "password", "username": "a@example.com"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"username": "a@example.com", "password": "x"}, "invalid_request"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        (
            {"grant_type": "password", "username": "a\u0001@example.com", "password": "x"},
            "invalid_request",
        ),
    ],
)
async def test_errors_are_rfc6749_json_bodies(
    client: httpx.AsyncClient, data: dict[str, str], error: str
) -> None:
    response = await client.post(TOKEN, data=data)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert set(body) == {"error", "error_description"}


async def test_an_unverified_account_gets_invalid_grant(client: httpx.AsyncClient) -> None:
    email = unique_email("unverified")
    await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    response = await client.post(
        TOKEN, data={"grant_type": "password", "username": email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ('{"grant_type": "password"}', "application/json"),
        ("grant_type=password&grant_type=refresh_token", "application/x-www-form-urlencoded"),
        (b"grant_type=\xff", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_requests_are_invalid_request(
    client: httpx.AsyncClient, content: str | bytes, content_type: str
) -> None:
    response = await client.post(TOKEN, content=content, headers={"content-type": content_type})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
