"""DELETE /me: sessions end at once, personal data is gone, one audit event remains."""

from __future__ import annotations

import httpx
import jwt

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, bearer, login, sql, unique_email, verified_user
from tests.e2e.identities import link


async def test_deleting_the_account_erases_it_and_leaves_one_audit_event(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("delete")
    await verified_user(client, settings, email)
    here, elsewhere = await login(client, email), await login(client, email)
    user_id = jwt.decode(here["access_token"], options={"verify_signature": False})["sub"]
    await link(client, here, "google")  # a social account linked: personal data too

    wrong = await client.request(
        "DELETE", "/api/v1/me", json={"password": "not it"}, headers=bearer(here)
    )
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "reauth_failed"
    deleted = await client.request(
        "DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=bearer(here)
    )
    assert deleted.status_code == 204, deleted.text

    for pair in (here, elsewhere):
        assert (await client.get("/api/v1/me/sessions", headers=bearer(pair))).status_code == 401
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert refreshed.status_code == 401
    assert await sql(settings, "SELECT count(*) FROM accounts_user WHERE email = $1", email) == 0
    remains = await sql(
        settings,
        "SELECT count(*) FROM accounts_one_time_token WHERE user_id = $1::uuid",
        user_id,
    )
    assert remains == 0
    identities = await sql(
        settings, "SELECT count(*) FROM accounts_identity WHERE user_id = $1::uuid", user_id
    )
    assert identities == 0
    traces = await sql(
        settings,
        "SELECT count(*) FROM auth_session WHERE user_id = $1::uuid "
        "AND (ip IS NOT NULL OR user_agent IS NOT NULL OR revoked_at IS NULL)",
        user_id,
    )
    assert traces == 0
    events = await sql(
        settings,
        "SELECT string_agg(type || coalesce(ip, '') || coalesce(user_agent, ''), ',') "
        "FROM audit_event WHERE user_id = $1::uuid",
        user_id,
    )
    assert events == "account.deleted"

    gone = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert gone.status_code == 401
    await verified_user(client, settings, email)  # the address is free again
    assert (await login(client, email))["access_token"]


async def test_deleting_needs_the_password_field(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("delete-body")
    await verified_user(client, settings, email)
    pair = await login(client, email)
    missing = await client.request("DELETE", "/api/v1/me", json={}, headers=bearer(pair))
    assert missing.status_code == 422
    assert (await client.get("/api/v1/me", headers=bearer(pair))).status_code == 200
