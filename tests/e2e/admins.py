"""An administrator for the admin API's tests: the ``admin`` role and a sign-in with a second
factor (TOTP enrolled, then a backup code as the second step), plus a password-only token of
the same account; and ``member``, a signed-in user without it. The ``admin`` fixture is
registered in ``tests/e2e/conftest.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pyotp
import pytest_asyncio

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, bearer, login, sql, unique_email, verified_user


@dataclass(frozen=True)
class Admin:
    id: str
    headers: dict[str, str]  # a token from a sign-in with a second factor
    password_only: dict[str, str]  # a token of the same admin from before TOTP was on


@dataclass(frozen=True)
class Member:
    """A signed-in user without the admin role."""

    id: str
    email: str
    pair: dict[str, Any]


async def member(client: httpx.AsyncClient, settings: Settings) -> Member:
    email = unique_email("member")
    await verified_user(client, settings, email)
    return Member(await user_id(settings, email), email, await login(client, email))


async def user_id(settings: Settings, email: str) -> str:
    return str(await sql(settings, "SELECT id FROM accounts_user WHERE email = $1", email))


@pytest_asyncio.fixture(loop_scope="session")
async def admin(client: httpx.AsyncClient, settings: Settings) -> Admin:
    email = unique_email("admin")
    await verified_user(client, settings, email)
    await sql(settings, "UPDATE accounts_user SET roles = '{user,admin}' WHERE email = $1", email)
    password_only = bearer(await login(client, email))
    begun = await client.post(
        "/api/v1/me/mfa/totp", json={"password": PASSWORD}, headers=password_only
    )
    secret = begun.json()["secret"]
    confirmed = await client.post(
        "/api/v1/me/mfa/totp/confirm",
        json={"code": pyotp.TOTP(secret).at(datetime.now(UTC))},
        headers=password_only,
    )
    backup_code = confirmed.json()["backup_codes"][0]
    challenge = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    pair = await client.post(
        "/api/v1/auth/mfa/verify",
        json={
            "mfa_token": challenge.json()["mfa_token"],
            "method": "backup_code",
            "code": backup_code,
        },
    )
    assert pair.status_code == 200, pair.text
    return Admin(await user_id(settings, email), bearer(pair.json()), password_only)
