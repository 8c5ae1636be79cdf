"""The admin API over HTTP, on the real database: who may use it, and PATCH /admin/users/{id}.

An administrator here is what the contract asks for: the ``admin`` role and a sign-in with a
second factor (TOTP enrolled, then a backup code as the second step).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.admins import Admin, member
from tests.e2e.conftest import (
    PASSWORD,
    assert_problem,
    bearer,
    login,
    sql,
)

ADMIN_USERS = "/api/v1/admin/users"


async def patch(
    client: httpx.AsyncClient, who: dict[str, str], target: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.patch(f"{ADMIN_USERS}/{target}", json=body, headers=who)


async def test_only_an_admin_signed_in_with_a_second_factor_gets_in(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    target = await member(client, settings)
    body = {"email_verified": True}
    assert_problem(await patch(client, {}, target.id, body), 401, "unauthenticated")
    as_member = await patch(client, bearer(target.pair), target.id, body)
    assert_problem(as_member, 403, "role_required")
    # An admin who has TOTP, holding a token from a password-only sign-in.
    password_only = await patch(client, admin.password_only, target.id, body)
    assert_problem(password_only, 403, "mfa_sign_in_required")
    assert (await patch(client, admin.headers, target.id, body)).status_code == 200


async def test_disabling_a_signed_in_user_refuses_their_next_request_and_refresh(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    target = await member(client, settings)
    answer = await patch(client, admin.headers, target.id, {"is_active": False})
    assert answer.status_code == 200, answer.text
    assert answer.json()["is_active"] is False

    me = await client.get("/api/v1/me", headers=bearer(target.pair))
    assert me.status_code == 401
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": target.pair["refresh_token"]}
    )
    assert refresh.status_code == 401
    relogin = await client.post(
        "/api/v1/auth/login", json={"email": target.email, "password": PASSWORD}
    )
    assert_problem(relogin, 401, "invalid_credentials")

    enabled = await patch(client, admin.headers, target.id, {"is_active": True})
    assert enabled.json()["is_active"] is True
    await login(client, target.email)

    events = await sql(
        settings,
        "SELECT json_agg(details ORDER BY occurred_at) FROM audit_event"
        " WHERE user_id = $1 AND type = 'admin.user_updated'",
        target.id,
    )
    details = json.loads(events)
    assert [d["is_active"] for d in details] == ["false", "true"]
    assert {d["admin_id"] for d in details} == {admin.id}


async def test_changing_roles_takes_a_step_up_and_ends_the_users_sessions(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    target = await member(client, settings)
    no_proof = await patch(client, admin.headers, target.id, {"roles": ["user", "admin"]})
    assert no_proof.status_code == 422
    wrong = await patch(
        client, admin.headers, target.id, {"roles": ["admin"], "password": "not mine at all"}
    )
    assert_problem(wrong, 403, "reauth_failed")
    assert (await client.get("/api/v1/me", headers=bearer(target.pair))).status_code == 200

    granted = await patch(
        client, admin.headers, target.id, {"roles": ["admin"], "password": PASSWORD}
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["roles"] == ["user", "admin"]  # user always stays
    assert (await client.get("/api/v1/me", headers=bearer(target.pair))).status_code == 401
    fresh = await login(client, target.email)
    assert (await client.get("/api/v1/me", headers=bearer(fresh))).json()["roles"] == [
        "user",
        "admin",
    ]


async def test_bad_requests_are_named(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    target = await member(client, settings)
    unknown_role = await patch(
        client, admin.headers, target.id, {"roles": ["root"], "password": PASSWORD}
    )
    assert_problem(unknown_role, 422, "unknown_role")
    proof_without_roles = await patch(
        client, admin.headers, target.id, {"is_active": True, "password": PASSWORD}
    )
    assert proof_without_roles.status_code == 422
    missing = await patch(
        client, admin.headers, "00000000-0000-4000-8000-000000000000", {"is_active": False}
    )
    assert_problem(missing, 404, "user_not_found")
    not_an_id = await patch(client, admin.headers, "nope", {"is_active": False})
    assert not_an_id.status_code == 422
    yourself = await patch(client, admin.headers, admin.id, {"is_active": False})
    assert_problem(yourself, 409, "own_access_unchangeable")


async def test_revoking_a_users_sessions_ends_them_all_and_names_the_admin(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    target = await member(client, settings)
    second = await login(client, target.email)
    revoke = f"{ADMIN_USERS}/{target.id}/sessions/revoke"
    assert_problem(await client.post(revoke, headers=bearer(target.pair)), 403, "role_required")

    answer = await client.post(revoke, headers=admin.headers)
    assert answer.status_code == 204, answer.text
    for pair in (target.pair, second):
        assert (await client.get("/api/v1/me", headers=bearer(pair))).status_code == 401
        refresh = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert refresh.status_code == 401
    await login(client, target.email)  # not disabled: they may sign in again

    details = json.loads(
        await sql(
            settings,
            "SELECT details FROM audit_event WHERE user_id = $1"
            " AND type = 'auth.all_sessions_ended'",
            target.id,
        )
    )
    assert details == {"reason": "admin_revoked", "sessions": "2", "admin_id": admin.id}

    missing = await client.post(
        f"{ADMIN_USERS}/00000000-0000-4000-8000-000000000000/sessions/revoke",
        headers=admin.headers,
    )
    assert_problem(missing, 404, "user_not_found")


AUDIT = "/api/v1/admin/audit-events"


async def test_the_audit_log_filters_by_user_type_and_time_and_pages(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    target = await member(client, settings)
    for _ in range(2):
        await login(client, target.email)  # three sign-ins with the member's first
    mine = {"user_id": target.id, "type": "auth.signed_in"}
    assert_problem(
        await client.get(AUDIT, params=mine, headers=bearer(target.pair)), 403, "role_required"
    )

    first = await client.get(AUDIT, params={**mine, "limit": 2}, headers=admin.headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 2
    assert all(e["user_id"] == target.id and e["type"] == "auth.signed_in" for e in page["items"])
    rest = await client.get(
        AUDIT, params={**mine, "limit": 2, "cursor": page["next_cursor"]}, headers=admin.headers
    )
    ids = [e["id"] for e in page["items"]] + [e["id"] for e in rest.json()["items"]]
    assert len(ids) == len(set(ids)) == 3
    assert rest.json()["next_cursor"] is None

    newest = page["items"][0]["occurred_at"]
    until_newest = await client.get(AUDIT, params={**mine, "until": newest}, headers=admin.headers)
    assert newest not in [e["occurred_at"] for e in until_newest.json()["items"]]
    since_newest = await client.get(AUDIT, params={**mine, "since": newest}, headers=admin.headers)
    assert [e["id"] for e in since_newest.json()["items"]] == [page["items"][0]["id"]]

    backwards = await client.get(
        AUDIT, params={"since": newest, "until": newest}, headers=admin.headers
    )
    assert backwards.status_code == 422
    assert (
        await client.get(AUDIT, params={"type": "x' OR 1=1"}, headers=admin.headers)
    ).status_code == 422
    assert (
        await client.get(AUDIT, params={"cursor": "nope"}, headers=admin.headers)
    ).status_code == 422


async def test_a_users_status_shows_sessions_second_factors_and_access(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    target = await member(client, settings)
    await login(client, target.email)  # a second session
    path = f"{ADMIN_USERS}/{target.id}"
    assert_problem(await client.get(path, headers=bearer(target.pair)), 403, "role_required")

    status = (await client.get(path, headers=admin.headers)).json()
    assert status["id"] == target.id
    assert status["email"] == target.email
    assert (status["is_active"], status["email_verified"]) == (True, True)
    assert status["roles"] == ["user"]
    assert status["mfa"] == {"totp": False, "email": False, "backup_codes_remaining": 0}
    assert status["sessions"]["active"] == 2
    assert status["sessions"]["last_sign_in"] is not None
    assert status["identities"] == []

    await patch(client, admin.headers, target.id, {"is_active": False})
    after = (await client.get(path, headers=admin.headers)).json()
    assert (after["is_active"], after["sessions"]["active"]) == (False, 0)
    assert after["sessions"]["last_sign_in"] == status["sessions"]["last_sign_in"]

    admin_status = (await client.get(f"{ADMIN_USERS}/{admin.id}", headers=admin.headers)).json()
    assert admin_status["mfa"]["totp"] is True
    assert admin_status["roles"] == ["user", "admin"]
    missing = await client.get(
        f"{ADMIN_USERS}/00000000-0000-4000-8000-000000000000", headers=admin.headers
    )
    assert_problem(missing, 404, "user_not_found")
