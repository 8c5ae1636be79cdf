"""MFA end to end on real PostgreSQL, Redis and SMTP (helpers: tests/e2e/mfa.py), the sign-in
challenge: five wrong codes void it, the token endpoint's password grant asks for it, a password
change voids it, cookie mode finishes it in cookies, and malformed or unknown answers are refused.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, assert_problem, bearer, sql
from tests.e2e.mfa import (
    VERIFY,
    challenge,
    clock_fixture,  # noqa: F401 - the fixture "clock": ten minutes ago
    enrol_totp,
    next_code,
    signed_in,
    verify,
)
from tests.support.clock import FixedClock


async def test_five_wrong_codes_void_the_mfa_token(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "five")
    secret, _ = await enrol_totp(mailing, pair, clock)
    required = await challenge(mailing, email)
    for left in (4, 3, 2, 1):
        wrong = await verify(mailing, required["mfa_token"], "totp", "000000")
        assert_problem(wrong, 401, "mfa_code_invalid")
        assert wrong.json()["detail"] == f"{left} tries left"
    fifth = await verify(mailing, required["mfa_token"], "totp", "000000")
    assert_problem(fifth, 401, "mfa_token_invalid")
    right = await verify(mailing, required["mfa_token"], "totp", next_code(secret, clock))
    assert_problem(right, 401, "mfa_token_invalid")
    failures = await sql(
        settings,
        "SELECT count(*) FROM audit_event WHERE type = 'auth.mfa_failed' AND user_id = "
        "(SELECT id FROM accounts_user WHERE email = $1)",
        email,
    )
    assert failures == 5


async def test_the_token_endpoint_answers_mfa_required_for_the_password_grant(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "oauthmfa")
    secret, _ = await enrol_totp(mailing, pair, clock)
    response = await mailing.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "mfa_required"
    assert body["methods"] == ["totp", "backup_code"]
    done = await verify(mailing, body["mfa_token"], "totp", next_code(secret, clock))
    assert done.status_code == 200, done.text


async def test_a_password_change_voids_sign_ins_waiting_for_a_second_factor(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "voids")
    secret, _ = await enrol_totp(mailing, pair, clock)
    waiting = await challenge(mailing, email)
    changed = await mailing.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "another fine passphrase 7"},
        headers=bearer(pair),
    )
    assert changed.status_code == 204, changed.text
    late = await verify(mailing, waiting["mfa_token"], "totp", next_code(secret, clock))
    assert_problem(late, 401, "mfa_token_invalid")


async def test_cookie_mode_finishes_the_sign_in_in_cookies(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "cookiemfa")
    secret, _ = await enrol_totp(mailing, pair, clock)
    required = await challenge(mailing, email)
    response = await mailing.post(
        VERIFY,
        json={
            "mfa_token": required["mfa_token"],
            "method": "totp",
            "code": next_code(secret, clock),
            "cookie": True,
        },
        headers={"Origin": settings.public_url},
    )
    assert response.status_code == 200, response.text
    assert "refresh_token" not in response.json()
    assert "gatehouse_refresh" in response.cookies
    assert response.json()["csrf_token"] == response.cookies["gatehouse_csrf"]


@pytest.mark.parametrize(
    "body",
    [
        {"mfa_token": "x", "method": "sms", "code": "123456"},
        {"mfa_token": "x", "method": "totp", "code": "12"},
        {"mfa_token": "", "method": "totp", "code": "123456"},
        {"mfa_token": "x", "method": "totp", "code": 123456},
        {"mfa_token": "x", "method": "totp"},
    ],
)
async def test_malformed_verify_bodies_are_422(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post(VERIFY, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_unknown_mfa_token_is_401(client: httpx.AsyncClient) -> None:
    response = await verify(client, "no-such-token", "totp", "123456")
    assert_problem(response, 401, "mfa_token_invalid")
    sent = await client.post("/api/v1/auth/mfa/email", json={"mfa_token": "no-such-token"})
    assert sent.status_code == 401
