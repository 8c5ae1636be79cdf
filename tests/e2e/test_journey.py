"""register → verification mail (real SMTP) → verify → login → GET /me → PATCH /me."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import jwt
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import (
    PASSWORD,
    ClientFactory,
    bearer,
    login,
    sql,
    token_in,
    unique_email,
    verified_user,
)


async def test_the_first_journey_through_every_layer(
    make_client: ClientFactory, smtp_server: Any
) -> None:
    email = unique_email("journey")
    async with make_client(smtp_url=smtp_server.url, dispatch_in_serve=True) as client:
        registered = await client.post(
            "/api/v1/auth/register",
            json={"email": email.upper(), "password": PASSWORD, "display_name": "Ada"},
        )
        assert registered.status_code == 202

        [mail] = await smtp_server.wait_for(1)
        assert mail["To"] == email
        assert mail["Subject"] == "Confirm your email address"
        assert mail.get_body(preferencelist=("html",)) is not None

        not_yet = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert not_yet.status_code == 403
        assert not_yet.json()["code"] == "email_not_verified"

        verified = await client.post("/api/v1/auth/verify-email", json={"token": token_in(mail)})
        assert verified.status_code == 200
        assert verified.json()["email_verified"] is True

        pair = await login(client, email)
        assert pair["token_type"] == "bearer"
        assert pair["expires_in"] == 900
        assert len(pair["refresh_token"]) >= 43

        auth = bearer(pair)
        me = await client.get("/api/v1/me", headers=auth)
        assert me.status_code == 200
        body = me.json()
        assert body["email"] == email
        assert body["display_name"] == "Ada"
        assert body["roles"] == ["user"]
        assert body["mfa"] == {"totp": False, "email": False, "backup_codes_remaining": 0}
        assert uuid.UUID(body["id"]).version == 7
        assert me.headers["cache-control"] == "no-store"

        renamed = await client.patch("/api/v1/me", json={"display_name": "Countess"}, headers=auth)
        assert renamed.status_code == 200
        assert renamed.json()["display_name"] == "Countess"
        assert (await client.get("/api/v1/me", headers=auth)).json()["display_name"] == "Countess"


async def test_a_verification_token_works_once(
    make_client: ClientFactory, smtp_server: Any
) -> None:
    async with make_client(smtp_url=smtp_server.url, dispatch_in_serve=True) as client:
        await client.post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}
        )
        [mail] = await smtp_server.wait_for(1)
        token = token_in(mail)
        first, second = await asyncio.gather(
            client.post("/api/v1/auth/verify-email", json={"token": token}),
            client.post("/api/v1/auth/verify-email", json={"token": token}),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 400]
        again = await client.post("/api/v1/auth/verify-email", json={"token": token})
        assert again.status_code == 400
        assert again.json()["code"] == "token_invalid"


async def test_registering_a_taken_address_answers_the_same_and_warns_the_owner(
    make_client: ClientFactory, smtp_server: Any
) -> None:
    email = unique_email("taken")
    async with make_client(smtp_url=smtp_server.url, dispatch_in_serve=True) as client:
        first = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        second = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": "another fine passphrase"}
        )
        assert first.status_code == second.status_code == 202
        assert first.content == second.content
        mails = await smtp_server.wait_for(2)
        assert sorted(m["Subject"] for m in mails) == [
            "Confirm your email address",
            "You already have an account",
        ]


async def test_concurrent_registrations_of_one_address_create_one_account(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("race")
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
            for _ in range(8)
        )
    )
    assert {r.status_code for r in responses} == {202}
    assert await sql(settings, "SELECT count(*) FROM accounts_user WHERE email = $1", email) == 1


async def test_wrong_password_and_unknown_email_get_the_same_401(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("login")
    await verified_user(client, settings, email)

    wrong = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "nope nope nope"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": unique_email("ghost"), "password": PASSWORD}
    )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
    strip = ("request_id",)
    assert {k: v for k, v in wrong.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
    assert wrong.json()["code"] == "invalid_credentials"


async def test_login_with_unverified_email_is_allowed_when_verification_is_not_required(
    make_client: ClientFactory,
) -> None:
    email = unique_email("lenient")
    async with make_client(require_verified_email=False) as client:
        await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        pair = await login(client, email)
        me = await client.get("/api/v1/me", headers=bearer(pair))
        assert me.json()["email_verified"] is False


async def test_another_service_verifies_access_tokens_offline_from_the_discovery_documents(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("offline")
    await verified_user(client, settings, email)
    token = (await login(client, email))["access_token"]

    config = (await client.get("/.well-known/openid-configuration")).json()
    assert config["issuer"] == settings.public_url
    assert config["jwks_uri"] == f"{settings.public_url}/.well-known/jwks.json"
    assert config["token_endpoint"] == f"{settings.public_url}/api/v1/auth/token"
    jwks = (await client.get("/.well-known/jwks.json")).json()

    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims = jwt.decode(
        token, key, algorithms=["EdDSA"], audience="gatehouse", issuer=config["issuer"]
    )
    assert claims["roles"] == ["user"]
    assert claims["amr"] == ["pwd"]
    assert claims["exp"] - claims["iat"] == 900
    assert uuid.UUID(claims["sid"])


@pytest.mark.parametrize(
    ("headers", "www_authenticate"),
    [
        ({}, "Bearer"),
        ({"Authorization": "Bearer not-a-jwt"}, 'Bearer error="invalid_token"'),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Bearer"),
    ],
)
async def test_me_without_a_valid_token_is_401_with_www_authenticate(
    client: httpx.AsyncClient, headers: dict[str, str], www_authenticate: str
) -> None:
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == www_authenticate
    assert response.json()["status"] == 401


async def test_a_token_for_a_disabled_account_no_longer_reads_me(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("disabled")
    await verified_user(client, settings, email)
    token = (await login(client, email))["access_token"]
    await sql(settings, "UPDATE accounts_user SET is_active = false WHERE email = $1", email)
    auth = {"Authorization": f"Bearer {token}"}
    for response in (
        await client.get("/api/v1/me", headers=auth),
        await client.patch("/api/v1/me", json={"display_name": "x"}, headers=auth),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
