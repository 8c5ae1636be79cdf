"""MFA end to end on real PostgreSQL, Redis and SMTP (helpers: tests/e2e/mfa.py), step-up: a
sensitive change takes a fresh code or the password, and deleting the account with a code erases its
factors.
"""

from __future__ import annotations

from typing import Any

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, assert_problem, bearer, sql
from tests.e2e.mfa import (
    ME_MFA,
    challenge,
    clock_fixture,  # noqa: F401 - the fixture "clock": ten minutes ago
    code_at,
    enrol_totp,
    next_code,
    signed_in,
)
from tests.support.clock import FixedClock


async def test_step_up_takes_a_fresh_code_or_the_password(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    _, pair = await signed_in(mailing, settings, smtp_server, "stepup")
    secret, codes = await enrol_totp(mailing, pair, clock)
    headers = bearer(pair)

    regenerated = await mailing.post(
        f"{ME_MFA}/backup-codes", json={"code": next_code(secret, clock)}, headers=headers
    )
    assert regenerated.status_code == 200, regenerated.text
    new_codes = regenerated.json()["backup_codes"]
    assert set(new_codes).isdisjoint(codes)
    # The code just used cannot prove anything again.
    replay = await mailing.post(
        f"{ME_MFA}/backup-codes", json={"code": code_at(secret, clock)}, headers=headers
    )
    assert_problem(replay, 403, "reauth_failed")
    neither = await mailing.post(f"{ME_MFA}/backup-codes", json={}, headers=headers)
    assert neither.status_code == 422
    both = await mailing.post(
        f"{ME_MFA}/backup-codes", json={"password": PASSWORD, "code": "123456"}, headers=headers
    )
    assert both.status_code == 422

    # A password change proven by a backup code instead of the current password.
    changed = await mailing.post(
        "/api/v1/me/password",
        json={"code": new_codes[0], "new_password": "another fine passphrase 7"},
        headers=headers,
    )
    assert changed.status_code == 204, changed.text

    # (Failures and the lockout they lead to: tests/e2e/test_lockout.py.)
    wrong = await mailing.request(
        "DELETE", f"{ME_MFA}/totp", json={"code": "000000"}, headers=headers
    )
    assert_problem(wrong, 403, "reauth_failed")
    assert (await mailing.get(ME_MFA, headers=headers)).json()["totp"] is True


async def test_deleting_the_account_with_a_code_erases_its_factors(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "gone")
    secret, _ = await enrol_totp(mailing, pair, clock)
    user_id = await sql(settings, "SELECT id FROM accounts_user WHERE email = $1", email)
    await challenge(mailing, email)
    deleted = await mailing.request(
        "DELETE", "/api/v1/me", json={"code": next_code(secret, clock)}, headers=bearer(pair)
    )
    assert deleted.status_code == 204, deleted.text
    for table in ("auth_mfa", "auth_mfa_backup_code", "auth_mfa_challenge"):
        left = await sql(settings, f"SELECT count(*) FROM {table} WHERE user_id = $1", user_id)
        assert left == 0, table
