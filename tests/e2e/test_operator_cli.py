"""``gatehouse users show | disable | enable | revoke-sessions EMAIL``, run as real subprocesses
against the test database and Redis while the app (in process) serves the user's requests."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, assert_problem, bearer, login, sql, unique_email
from tests.e2e.conftest import verified_user as register_verified
from tests.e2e.test_cli import gatehouse

pytestmark = pytest.mark.xdist_group("cli")


async def signed_in(client: httpx.AsyncClient, settings: Settings) -> tuple[str, dict[str, Any]]:
    email = unique_email("operated")
    await register_verified(client, settings, email)
    return email, await login(client, email)


async def refused(client: httpx.AsyncClient, pair: dict[str, Any]) -> None:
    """The access token and the refresh token of ``pair`` no longer work."""
    assert (await client.get("/api/v1/me", headers=bearer(pair))).status_code == 401
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refresh.status_code == 401


async def audit_details(settings: Settings, email: str, kind: str) -> list[dict[str, str]]:
    rows = await sql(
        settings,
        "SELECT json_agg(e.details ORDER BY e.occurred_at) FROM audit_event e"
        " JOIN accounts_user u ON u.id = e.user_id WHERE u.email = $1 AND e.type = $2",
        email,
        kind,
    )
    return json.loads(rows) if rows else []


async def test_show_prints_the_user_as_aligned_text_or_json(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email, _ = await signed_in(client, settings)
    user_id = str(await sql(settings, "SELECT id FROM accounts_user WHERE email = $1", email))

    shown = gatehouse(settings, "users", "show", f"  {email.upper()} ")  # normalised like login
    assert shown.returncode == 0, shown.stderr
    fields = dict(line.split(None, 1) for line in shown.stdout.splitlines())
    assert fields["id"] == user_id
    assert fields["email"] == email
    assert fields["verified"] == "yes"
    assert fields["active"] == "yes"
    assert fields["roles"] == "user"
    assert fields["mfa"] == "none"
    assert fields["created_at"].startswith("20")
    values = [
        line.index(value)
        for line, value in zip(shown.stdout.splitlines(), fields.values(), strict=True)
    ]
    assert len(set(values)) == 1  # one column

    as_json = gatehouse(settings, "users", "show", email, "--json")
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert body["id"] == user_id
    assert body["is_active"] is True
    assert body["roles"] == ["user"]
    assert body["mfa"] == {"totp": False, "email": False, "backup_codes_remaining": 0}


async def test_disable_ends_every_session_and_enable_lets_them_sign_in(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email, pair = await signed_in(client, settings)
    assert (await client.get("/api/v1/me", headers=bearer(pair))).status_code == 200

    disabled = gatehouse(settings, "users", "disable", email)
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.startswith(f"disabled {email} (")
    await refused(client, pair)
    relogin = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert_problem(relogin, 401, "invalid_credentials")
    shown = gatehouse(settings, "users", "show", email, "--json")
    assert json.loads(shown.stdout)["is_active"] is False
    again = gatehouse(settings, "users", "disable", email)
    assert again.returncode == 0
    assert "was already disabled" in again.stdout

    enabled = gatehouse(settings, "users", "enable", email)
    assert enabled.returncode == 0, enabled.stderr
    assert enabled.stdout.startswith(f"enabled {email} (")
    fresh = await login(client, email)
    assert (await client.get("/api/v1/me", headers=bearer(fresh))).status_code == 200

    details = await audit_details(settings, email, "admin.user_updated")
    assert [d["is_active"] for d in details] == ["false", "true"]  # the no-op wrote nothing
    assert all(d["operator"].startswith("cli") and "admin_id" not in d for d in details)
    reasons = await sql(
        settings,
        "SELECT array_agg(DISTINCT s.revoke_reason) FROM auth_session s"
        " JOIN accounts_user u ON u.id = s.user_id WHERE u.email = $1"
        " AND s.revoked_at IS NOT NULL",
        email,
    )
    assert reasons == ["account_disabled"]


async def test_revoke_sessions_refuses_the_tokens_but_not_a_new_sign_in(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email, pair = await signed_in(client, settings)
    second = await login(client, email)

    revoked = gatehouse(settings, "users", "revoke-sessions", email)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.startswith(f"ended 2 sessions of {email} (")
    await refused(client, pair)
    await refused(client, second)
    fresh = await login(client, email)  # not disabled: they may sign in again
    assert (await client.get("/api/v1/me", headers=bearer(fresh))).status_code == 200

    [details] = await audit_details(settings, email, "auth.all_sessions_ended")
    assert details["reason"] == "admin_revoked"
    assert details["sessions"] == "2"
    assert details["operator"].startswith("cli")
    assert "admin_id" not in details


@pytest.mark.parametrize("command", ["show", "disable", "enable", "revoke-sessions"])
def test_an_unknown_address_is_named_on_stderr_with_status_1(
    settings: Settings, command: str
) -> None:
    email = unique_email("nobody")
    result = gatehouse(settings, "users", command, email)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == f"error: no user has the address {email}"


def test_something_that_is_not_an_address_is_refused_with_status_2(settings: Settings) -> None:
    result = gatehouse(settings, "users", "show", "not an address")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
