"""MFA end to end on real PostgreSQL, Redis and SMTP: TOTP with codes computed by pyotp (and
oathtool) from the secret the API returns, backup codes, email codes, the sign-in challenge,
and step-up for sensitive changes.

The app's clock is injected and starts ten minutes in the past, so tests can move it forward
(TOTP steps, code lifetimes) while the access tokens it signs stay valid in real time.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import (
    PASSWORD,
    ClientFactory,
    account,
    assert_problem,
    bearer,
    login,
    sql,
    unique_email,
)
from tests.support.clock import FixedClock

ME_MFA = "/api/v1/me/mfa"
VERIFY = "/api/v1/auth/mfa/verify"
STEP = timedelta(seconds=30)
BACKUP = re.compile(r"^[0-9a-hjkmnp-tv-z]{10}$")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10))


def code_at(secret: str, clock: FixedClock, offset: timedelta = timedelta(0)) -> str:
    return pyotp.TOTP(secret).at(clock.now() + offset)


def next_code(secret: str, clock: FixedClock) -> str:
    """A code of the next time step: the last one used is spent."""
    clock.advance(STEP)
    return code_at(secret, clock)


def amr_of(pair: dict[str, Any]) -> list[str]:
    payload = pair["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    amr: list[str] = claims["amr"]
    return amr


async def signed_in(
    client: httpx.AsyncClient, settings: Settings, smtp_server: Any, prefix: str
) -> tuple[str, dict[str, Any]]:
    email = await account(client, settings, smtp_server, prefix)
    return email, await login(client, email)


async def enrol_totp(
    client: httpx.AsyncClient, pair: dict[str, Any], clock: FixedClock
) -> tuple[str, list[str]]:
    begun = await client.post(f"{ME_MFA}/totp", json={"password": PASSWORD}, headers=bearer(pair))
    assert begun.status_code == 200, begun.text
    secret: str = begun.json()["secret"]
    confirmed = await client.post(
        f"{ME_MFA}/totp/confirm", json={"code": code_at(secret, clock)}, headers=bearer(pair)
    )
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["backup_codes"]
    return secret, codes


async def challenge(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["mfa_required"] is True
    assert "access_token" not in body
    return body


async def verify(
    client: httpx.AsyncClient, mfa_token: str, method: str, code: str
) -> httpx.Response:
    return await client.post(VERIFY, json={"mfa_token": mfa_token, "method": method, "code": code})


def mail_text(message: Any) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


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


async def test_one_backup_code_used_concurrently_signs_in_exactly_once(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "race")
    _, codes = await enrol_totp(mailing, pair, clock)
    challenges = [await challenge(mailing, email) for _ in range(6)]
    responses = await asyncio.gather(
        *(verify(mailing, c["mfa_token"], "backup_code", codes[0]) for c in challenges)
    )
    assert sorted(r.status_code for r in responses) == [200, 401, 401, 401, 401, 401]
    status = (await mailing.get(ME_MFA, headers=bearer(pair))).json()
    assert status["backup_codes_remaining"] == 9


async def test_lost_phone_backup_code_then_re_enrol(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any, clock: FixedClock
) -> None:
    email, pair = await signed_in(mailing, settings, smtp_server, "lost")
    old_secret, codes = await enrol_totp(mailing, pair, clock)
    await smtp_server.wait_for(1)
    smtp_server.clear()

    # The phone is gone: a backup code, typed loosely, signs in.
    required = await challenge(mailing, email)
    typed = f" {codes[3][:5].upper()}-{codes[3][5:]} "
    signed = await verify(mailing, required["mfa_token"], "backup_code", typed)
    assert signed.status_code == 200, signed.text
    tokens = signed.json()
    assert amr_of(tokens) == ["pwd", "backup_code", "mfa"]
    [notice] = await smtp_server.wait_for(1)
    assert notice["Subject"] == "A backup code was used for your account"
    assert "9 unused backup codes remain" in mail_text(notice)
    smtp_server.clear()

    # Re-enrol a new phone; the old secret and the old backup codes stop working.
    new_secret, new_codes = await enrol_totp(mailing, tokens, clock)
    assert new_secret != old_secret
    required = await challenge(mailing, email)
    old_phone = await verify(mailing, required["mfa_token"], "totp", next_code(old_secret, clock))
    assert old_phone.status_code == 401
    old_code = await verify(mailing, required["mfa_token"], "backup_code", codes[4])
    assert old_code.status_code == 401
    new_phone = await verify(mailing, required["mfa_token"], "totp", code_at(new_secret, clock))
    assert new_phone.status_code == 200, new_phone.text
    assert new_codes[0] not in codes


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
