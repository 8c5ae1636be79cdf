"""MFA end to end on real PostgreSQL, Redis and SMTP (helpers: tests/e2e/mfa.py), the authenticator
app: enrolment confirmed by a code from pyotp (and oathtool), each code used once and only within
one step of now, and turning the factor off.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from datetime import timedelta
from typing import Any

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, assert_problem, bearer, login, sql
from tests.e2e.mfa import (
    ME_MFA,
    STEP,
    amr_of,
    challenge,
    clock_fixture,  # noqa: F401 - the fixture "clock": ten minutes ago
    code_at,
    enrol_totp,
    mail_text,
    next_code,
    signed_in,
    verify,
)
from tests.support.clock import FixedClock

BACKUP = re.compile(r"^[0-9a-hjkmnp-tv-z]{10}$")


async def test_totp_enrolment_then_sign_in_with_a_pyotp_code(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "totp")
    begun = await mailing.post(f"{ME_MFA}/totp", json={"password": PASSWORD}, headers=bearer(pair))
    assert begun.status_code == 200, begun.text
    enrolment = begun.json()
    secret = enrolment["secret"]
    assert len(secret) == 32
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/Gatehouse:")
    assert f"secret={secret}" in enrolment["otpauth_uri"]
    assert enrolment["qr_svg"].startswith("<svg")
    pending = (await mailing.get(ME_MFA, headers=bearer(pair))).json()
    assert pending == {
        "totp": False,
        "email": False,
        "backup_codes_remaining": 0,
        "totp_pending": True,
        "few_backup_codes": False,
    }
    # Still no second factor at sign-in until a code confirms the setup.
    assert "access_token" in await login(mailing, email)

    wrong = await mailing.post(
        f"{ME_MFA}/totp/confirm", json={"code": "000000"}, headers=bearer(pair)
    )
    assert_problem(wrong, 422, "totp_code_invalid")
    confirmed = await mailing.post(
        f"{ME_MFA}/totp/confirm", json={"code": code_at(secret, clock)}, headers=bearer(pair)
    )
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["backup_codes"]
    assert len(codes) == len(set(codes)) == 10
    assert all(BACKUP.match(code) for code in codes)

    status = (await mailing.get(ME_MFA, headers=bearer(pair))).json()
    assert status["totp"] is True
    assert status["backup_codes_remaining"] == 10
    me = (await mailing.get("/api/v1/me", headers=bearer(pair))).json()
    assert me["mfa"] == {"totp": True, "email": False, "backup_codes_remaining": 10}
    stored = await sql(settings, "SELECT totp_secret FROM auth_mfa WHERE totp_secret IS NOT NULL")
    assert secret not in stored  # sealed at rest
    [notice] = await smtp_server.wait_for(1)
    assert "authenticator app was set up" in mail_text(notice)

    required = await challenge(mailing, email)
    assert required["methods"] == ["totp", "backup_code"]
    assert required["expires_in"] == 300
    response = await verify(mailing, required["mfa_token"], "totp", next_code(secret, clock))
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert amr_of(tokens) == ["pwd", "otp", "mfa"]
    assert (await mailing.get("/api/v1/me", headers=bearer(tokens))).status_code == 200
    # The mfa_token is single use.
    again = await verify(mailing, required["mfa_token"], "totp", next_code(secret, clock))
    assert_problem(again, 401, "mfa_token_invalid")


@pytest.mark.skipif(shutil.which("oathtool") is None, reason="oathtool is not installed")
async def test_a_code_from_oathtool_confirms_the_returned_secret(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    _, pair = await signed_in(mailing, settings, smtp_server, "oath")
    begun = await mailing.post(f"{ME_MFA}/totp", json={"password": PASSWORD}, headers=bearer(pair))
    secret = begun.json()["secret"]
    when = clock.now().strftime("%Y-%m-%d %H:%M:%S UTC")
    oathtool = await asyncio.create_subprocess_exec(
        "oathtool", "--totp", "--base32", "--now", when, secret, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await oathtool.communicate()
    assert oathtool.returncode == 0
    code = stdout.decode().strip()
    confirmed = await mailing.post(
        f"{ME_MFA}/totp/confirm", json={"code": code}, headers=bearer(pair)
    )
    assert confirmed.status_code == 200, confirmed.text


async def test_a_totp_code_works_once_and_only_within_one_step_of_now(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "replay")
    secret, _ = await enrol_totp(mailing, pair, clock)
    clock.advance(timedelta(minutes=5))

    first = await challenge(mailing, email)
    previous_step = code_at(secret, clock, -STEP)  # one step late: still accepted
    assert (await verify(mailing, first["mfa_token"], "totp", previous_step)).status_code == 200

    second = await challenge(mailing, email)
    replay = await verify(mailing, second["mfa_token"], "totp", previous_step)
    assert_problem(replay, 401, "mfa_code_invalid")
    two_late = await verify(mailing, second["mfa_token"], "totp", code_at(secret, clock, -2 * STEP))
    assert two_late.status_code == 401
    two_early = await verify(mailing, second["mfa_token"], "totp", code_at(secret, clock, 2 * STEP))
    assert two_early.status_code == 401
    one_early = code_at(secret, clock, STEP)  # the phone's clock runs ahead: still accepted
    assert (await verify(mailing, second["mfa_token"], "totp", one_early)).status_code == 200
    # ...and then the current step is older than the high-water mark.
    third = await challenge(mailing, email)
    current = await verify(mailing, third["mfa_token"], "totp", code_at(secret, clock))
    assert current.status_code == 401


async def test_turning_the_last_factor_off_ends_mfa_and_its_backup_codes(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "off")
    secret, _ = await enrol_totp(mailing, pair, clock)
    off = await mailing.request(
        "DELETE", f"{ME_MFA}/totp", json={"code": next_code(secret, clock)}, headers=bearer(pair)
    )
    assert off.status_code == 204, off.text
    status = (await mailing.get(ME_MFA, headers=bearer(pair))).json()
    assert (status["totp"], status["backup_codes_remaining"]) == (False, 0)
    assert "access_token" in await login(mailing, email)
    again = await mailing.request(
        "DELETE", f"{ME_MFA}/totp", json={"password": PASSWORD}, headers=bearer(pair)
    )
    assert_problem(again, 409, "mfa_not_enabled")
    none = await mailing.post(
        f"{ME_MFA}/backup-codes", json={"password": PASSWORD}, headers=bearer(pair)
    )
    assert none.status_code == 409
