"""POST /api/v1/admin/users/import on the real database: each hash format imported then signing
in (and rehashed), the limits, and every reason a user is skipped."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.admins import Admin, member
from tests.e2e.conftest import assert_problem, bearer, login, sql, unique_email
from tests.support.imported_hashes import DJANGO, imported

IMPORT = "/api/v1/admin/users/import"
IMPORTED = imported("$2a$")
STORED = "SELECT password_hash FROM accounts_user WHERE email = $1"


async def post(
    client: httpx.AsyncClient, who: dict[str, str], users: list[dict[str, Any]]
) -> httpx.Response:
    return await client.post(IMPORT, json={"users": users}, headers=who)


@pytest.mark.parametrize("scheme", IMPORTED)
async def test_an_imported_user_signs_in_with_their_old_password_and_is_rehashed(
    client: httpx.AsyncClient,
    settings: Settings,
    admin: Admin,
    scheme: str,
) -> None:
    password, imported = IMPORTED[scheme]
    email = unique_email("imported")
    user = {"email": email.upper(), "email_verified": True, "password_hash": imported}
    answer = await post(client, admin.headers, [{**user, "display_name": "Ada"}])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"created": 1, "skipped": []}
    assert await sql(settings, STORED, email) == imported  # stored normalised, hash as given

    await login(client, email, password)
    stored = await sql(settings, STORED, email)
    assert stored.startswith("gh1$")
    await login(client, email, password)
    me = await client.get("/api/v1/me", headers=bearer(await login(client, email, password)))
    assert me.json()["display_name"] == "Ada"
    assert me.json()["email_verified"] is True


async def test_importing_reports_every_skipped_user_with_its_reason(
    client: httpx.AsyncClient,
    settings: Settings,
    admin: Admin,
) -> None:
    existing = await member(client, settings)
    fresh, twice = unique_email("fresh"), unique_email("twice")
    users: list[dict[str, Any]] = [
        {"email": fresh},  # no hash: an account without a password
        {"email": twice, "display_name": "first"},
        {"email": f"  {twice.upper()} ", "display_name": "second"},
        {"email": existing.email, "password_hash": IMPORTED["bcrypt $2a$"][1]},
        {"email": "not an address"},
        {"email": unique_email("bad-hash"), "password_hash": "$2b$12$tooshort"},
        {"email": unique_email("house"), "password_hash": "gh1$1$whatever"},
        {"email": unique_email("role"), "roles": ["user", "owner"]},
        {"email": unique_email("admin"), "roles": ["admin"]},
    ]
    answer = await post(client, admin.headers, users)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["created"] == 2
    reasons = {(s["email"], s["reason"]) for s in body["skipped"]}
    assert (f"  {twice.upper()} ", "duplicate in this request") in reasons
    assert (existing.email, "already exists") in reasons
    assert ("not an address", "invalid email") in reasons
    assert (users[5]["email"], "malformed bcrypt hash") in reasons
    assert users[6]["email"] in {email for email, _ in reasons}
    assert any(r.startswith("unsupported password hash") for _, r in reasons)
    assert any(r.startswith("unknown role: owner") for _, r in reasons)
    assert any(r.startswith("the admin role is not imported") for _, r in reasons)
    assert len(body["skipped"]) == len(users) - 2
    name = "SELECT display_name FROM accounts_user WHERE email = $1"
    assert await sql(settings, name, twice) == "first"
    assert await sql(settings, STORED, fresh) is None
    # The existing account is untouched by the import.
    assert (await sql(settings, STORED, existing.email)).startswith("gh1$")


async def test_importing_the_same_users_twice_creates_nothing_the_second_time(
    client: httpx.AsyncClient,
    settings: Settings,
    admin: Admin,
) -> None:
    users = [{"email": unique_email("again"), "password_hash": DJANGO} for _ in range(3)]
    first = await post(client, admin.headers, users)
    assert first.json() == {"created": 3, "skipped": []}
    second = await post(client, admin.headers, users)
    assert second.json()["created"] == 0
    assert {s["reason"] for s in second.json()["skipped"]} == {"already exists"}
    events = await sql(
        settings,
        "SELECT count(*) FROM audit_event WHERE type = 'admin.users_imported'"
        " AND details->>'admin_id' = $1",
        admin.id,
    )
    assert events >= 2  # one per call


async def test_more_than_1000_users_in_one_call_is_refused(
    client: httpx.AsyncClient,
    admin: Admin,
) -> None:
    users = [{"email": f"u{i}@example.com"} for i in range(1001)]
    answer = await post(client, admin.headers, users)
    body = assert_problem(answer, 422, "validation_failed")
    assert [e["loc"] for e in body["errors"]] == [["body", "users"]]
    assert "1000" in body["errors"][0]["msg"]


async def test_only_an_admin_imports(
    client: httpx.AsyncClient,
    settings: Settings,
    admin: Admin,
) -> None:
    users = [{"email": unique_email("nobody")}]
    assert_problem(await post(client, {}, users), 401, "unauthenticated")
    someone = await member(client, settings)
    assert_problem(await post(client, bearer(someone.pair), users), 403, "role_required")
    assert_problem(await post(client, admin.password_only, users), 403, "mfa_sign_in_required")
    assert await sql(settings, STORED, users[0]["email"]) is None
