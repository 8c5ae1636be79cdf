"""MFA end to end on real PostgreSQL, Redis and SMTP (helpers: tests/e2e/mfa.py), codes by email:
the newest one signs in, sending is capped, a code expires after ten minutes, the factor needs a
verified address, and a reset link does not use up a sign-in code's budget.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, ClientFactory, assert_problem, bearer, login, unique_email
from tests.e2e.mfa import (
    ME_MFA,
    amr_of,
    challenge,
    clock_fixture,  # noqa: F401 - the fixture "clock": ten minutes ago
    mail_text,
    signed_in,
    verify,
)
from tests.support.clock import FixedClock


async def test_email_codes_sign_in_newest_only_and_capped(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "emailotp")
    enabled = await mailing.post(
        f"{ME_MFA}/email", json={"password": PASSWORD}, headers=bearer(pair)
    )
    assert enabled.status_code == 204, enabled.text
    [notice] = await smtp_server.wait_for(1)
    assert "by email were turned on" in mail_text(notice)
    smtp_server.clear()
    me = (await mailing.get("/api/v1/me", headers=bearer(pair))).json()
    assert me["mfa"] == {"totp": False, "email": True, "backup_codes_remaining": 0}

    required = await challenge(mailing, email)
    assert required["methods"] == ["email"]
    token = required["mfa_token"]
    sent = await mailing.post("/api/v1/auth/mfa/email", json={"mfa_token": token})
    assert sent.status_code == 202
    [first] = await smtp_server.wait_for(1)
    first_code = re.search(r"\b(\d{6})\b", mail_text(first))
    assert first_code is not None
    assert first_code.group(1) not in first["Subject"]
    capped = await mailing.post("/api/v1/auth/mfa/email", json={"mfa_token": token})
    assert_problem(capped, 429, "too_many_mails")

    clock.advance(timedelta(seconds=61))
    assert (
        await mailing.post("/api/v1/auth/mfa/email", json={"mfa_token": token})
    ).status_code == 202
    second = (await smtp_server.wait_for(2))[1]
    second_code = re.search(r"\b(\d{6})\b", mail_text(second))
    assert second_code is not None
    if first_code.group(1) != second_code.group(1):  # one chance in a million they are equal
        older = await verify(mailing, token, "email", first_code.group(1))
        assert older.status_code == 401
    signed = await verify(mailing, token, "email", second_code.group(1))
    assert signed.status_code == 200, signed.text
    assert amr_of(signed.json()) == ["pwd", "email", "mfa"]


async def test_an_emailed_code_expires_after_ten_minutes(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    _, pair = await signed_in(mailing, settings, smtp_server, "expiry")
    await mailing.post(f"{ME_MFA}/email", json={"password": PASSWORD}, headers=bearer(pair))
    await smtp_server.wait_for(1)
    smtp_server.clear()
    await mailing.post(f"{ME_MFA}/email/code", headers=bearer(pair))
    [mail] = await smtp_server.wait_for(1)
    code = re.search(r"\b(\d{6})\b", mail_text(mail))
    assert code is not None
    clock.advance(timedelta(minutes=10))
    late = await mailing.post(
        f"{ME_MFA}/backup-codes", json={"code": code.group(1)}, headers=bearer(pair)
    )
    assert_problem(late, 403, "reauth_failed")


async def test_the_email_factor_needs_a_verified_address(
    make_client: ClientFactory, settings: Settings
) -> None:
    async with make_client(require_verified_email=False) as client:
        email = unique_email("unverified")
        await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        pair = await login(client, email)
        response = await client.post(
            f"{ME_MFA}/email", json={"password": PASSWORD}, headers=bearer(pair)
        )
        assert_problem(response, 403, "email_not_verified")


async def test_a_reset_link_does_not_use_up_the_budget_of_a_sign_in_code(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "purposes")
    enabled = await mailing.post(
        f"{ME_MFA}/email", json={"password": PASSWORD}, headers=bearer(pair)
    )
    assert enabled.status_code == 204, enabled.text
    await smtp_server.wait_for(1)
    smtp_server.clear()

    forgot = await mailing.post("/api/v1/auth/password/forgot", json={"email": email})
    assert forgot.status_code == 202
    token = (await challenge(mailing, email))["mfa_token"]
    code = await mailing.post("/api/v1/auth/mfa/email", json={"mfa_token": token})
    assert code.status_code == 202, code.text  # within the same minute as the reset link

    mails = await smtp_server.wait_for(2)
    subjects = sorted(mail["Subject"] for mail in mails)
    assert len(subjects) == 2
    assert any("code" in subject.lower() for subject in subjects)
    assert any("password" in subject.lower() for subject in subjects)
