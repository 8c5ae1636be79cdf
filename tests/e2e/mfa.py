"""What the MFA end-to-end tests (tests/e2e/test_mfa_*.py) share: the paths, a clock of their
own, TOTP codes computed by pyotp from the secret the API returns, and the steps of enrolling and
of a sign-in that waits for a second factor.

The ``clock`` fixture here replaces the suite's: it is injected into the app (``mailing``) and
starts ten minutes in the past, so tests can move it forward (TOTP steps, code lifetimes) while
the access tokens it signs stay valid in real time. A module imports ``clock_fixture`` to use it.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, account, bearer, login
from tests.support.clock import FixedClock

ME_MFA = "/api/v1/me/mfa"
VERIFY = "/api/v1/auth/mfa/verify"
STEP = timedelta(seconds=30)


@pytest.fixture(name="clock")
def clock_fixture() -> FixedClock:
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
