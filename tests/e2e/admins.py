"""An administrator for the admin API's tests: the ``admin`` role and a sign-in with a second
factor (TOTP enrolled, then a backup code as the second step), plus a password-only token of
the same account; and ``member``, a signed-in user without it. The ``admin`` fixture is
registered in ``tests/e2e/conftest.py``; it is made by the testing plugin's ``UserFactory``
(the one behind ``make_user``), step by step to keep the password-only token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio

from gatehouse.main.settings import Settings
from gatehouse.testing import UserFactory
from tests.e2e.conftest import login, sql, unique_email, verified_user


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
    users = UserFactory(client, settings)
    password_only = await users(roles=("admin",))
    signed_in = await users.enrol_totp(password_only)
    return Admin(signed_in.id, signed_in.headers, password_only.headers)
