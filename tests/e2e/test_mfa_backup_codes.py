"""MFA end to end on real PostgreSQL, Redis and SMTP (helpers: tests/e2e/mfa.py), backup codes: one
code used concurrently signs in once, and a lost phone is replaced with a backup code and a new
enrolment.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.conftest import bearer
from tests.e2e.mfa import (
    ME_MFA,
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
