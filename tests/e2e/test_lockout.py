"""The lockout after failed passwords and codes, with the contract's values, on the real Redis.

Each test is its own client IP (behind a trusted proxy) with its own accounts, and moves the
app's clock instead of waiting: the lock's length and its end are read from that clock.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest_asyncio

from gatehouse.main.settings import Settings
from tests.e2e.conftest import (
    PASSWORD,
    ClientFactory,
    assert_problem,
    unique_email,
    verified_user,
    with_clock,
)
from tests.support.clock import FixedClock

LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
PROXY = "203.0.113.7"  # the test transport's socket peer, trusted to name the client
DEFAULTS = Settings.model_fields
WRONG = "not the password at all"


def contract_lockout() -> dict[str, Any]:
    names = (
        "lockout_free_attempts",
        "lockout_first_seconds",
        "lockout_max_seconds",
        "lockout_failures_per_hour",
    )
    return {name: DEFAULTS[name].default for name in names} | {"trusted_proxies": (PROXY,)}


def test_the_defaults_are_the_contracts() -> None:
    assert contract_lockout() == {
        "lockout_free_attempts": 5,
        "lockout_first_seconds": 60,
        "lockout_max_seconds": 900,
        "lockout_failures_per_hour": 100,
        "trusted_proxies": (PROXY,),
    }


class Caller:
    """One client IP talking to the app."""

    def __init__(self, client: httpx.AsyncClient, ip: str | None = None) -> None:
        self.client = client
        self.ip = ip or f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Forwarded-For": self.ip}

    async def login(self, email: str, password: str) -> httpx.Response:
        return await self.client.post(
            LOGIN, json={"email": email, "password": password}, headers=self.headers
        )

    async def password_grant(self, email: str, password: str) -> httpx.Response:
        form = {"grant_type": "password", "username": email, "password": password}
        return await self.client.post(TOKEN, data=form, headers=self.headers)

    async def bearer(self, email: str) -> dict[str, str]:
        """Signed in as ``email`` (a success): headers with the access token, from this IP."""
        pair = (await self.login(email, PASSWORD)).json()
        return {"Authorization": f"Bearer {pair['access_token']}", **self.headers}

    def elsewhere(self) -> Caller:
        return Caller(self.client)


@pytest_asyncio.fixture(loop_scope="session")
async def app(make_client: ClientFactory, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(prepare=with_clock(clock), **contract_lockout()) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def email(app: httpx.AsyncClient, settings: Settings) -> str:
    address = unique_email("lockout")
    await verified_user(app, settings, address)
    return address


def assert_locked(response: httpx.Response, retry_after: int) -> None:
    assert_problem(response, 429, "too_many_attempts")
    assert response.headers["Retry-After"] == str(retry_after)


async def fail(caller: Caller, email: str, times: int) -> None:
    for _ in range(times):
        assert (await caller.login(email, WRONG)).status_code == 401


async def test_the_sixth_attempt_after_five_failures_waits_even_with_the_right_password(
    app: httpx.AsyncClient, email: str, clock: FixedClock
) -> None:
    caller = Caller(app)
    await fail(caller, email, 5)

    right = await caller.login(email, PASSWORD)
    assert_locked(right, 60)  # the same answer as a wrong one: it confirms nothing
    assert_locked(await caller.login(email, WRONG), 60)
    clock.advance(timedelta(seconds=59))
    assert_locked(await caller.login(email, PASSWORD), 1)

    clock.advance(timedelta(seconds=1))
    assert (await caller.login(email, PASSWORD)).status_code == 200
    await fail(caller, email, 5)  # the success started the count over


async def test_each_further_failure_doubles_the_wait_up_to_fifteen_minutes(
    app: httpx.AsyncClient, email: str, clock: FixedClock
) -> None:
    caller = Caller(app)
    await fail(caller, email, 5)
    waits = []
    for _ in range(6):
        locked = await caller.login(email, WRONG)
        assert locked.status_code == 429
        wait = int(locked.headers["Retry-After"])
        waits.append(wait)
        clock.advance(timedelta(seconds=wait))
        assert (await caller.login(email, WRONG)).status_code == 401
    assert waits == [60, 120, 240, 480, 900, 900]

    clock.advance(timedelta(seconds=900))  # temporary, however long it went on
    assert (await caller.login(email, PASSWORD)).status_code == 200


async def test_the_account_is_locked_from_every_ip_and_an_unknown_address_alike(
    app: httpx.AsyncClient, email: str
) -> None:
    ghost = unique_email("nobody")
    for address in (email, ghost):
        for _ in range(5):  # each failure from another address
            assert (await Caller(app).login(address, WRONG)).status_code == 401
        assert_locked(await Caller(app).login(address, PASSWORD), 60)


async def test_one_ip_failing_on_many_accounts_is_locked_for_all_of_them(
    app: httpx.AsyncClient, settings: Settings, email: str
) -> None:
    caller = Caller(app)
    for _ in range(5):
        assert (await caller.login(unique_email("stuffed"), WRONG)).status_code == 401

    assert_locked(await caller.login(email, PASSWORD), 60)
    assert (await caller.elsewhere().login(email, PASSWORD)).status_code == 200


async def test_the_token_endpoint_password_grant_shares_the_count_with_login(
    app: httpx.AsyncClient, email: str
) -> None:
    caller = Caller(app)
    await fail(caller, email, 3)
    for _ in range(2):
        wrong = await caller.password_grant(email, WRONG)
        assert wrong.json()["error"] == "invalid_grant"

    locked = await caller.password_grant(email, PASSWORD)
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "60"
    assert locked.json()["error"] == "slow_down"  # RFC 6749's shape on the token endpoint
    assert "too many failed passwords" in locked.json()["error_description"]
    assert_locked(await caller.login(email, PASSWORD), 60)


async def test_wrong_mfa_codes_count_against_the_account(
    app: httpx.AsyncClient, email: str, clock: FixedClock
) -> None:
    caller = Caller(app)
    bearer = await caller.bearer(email)
    begun = await app.post("/api/v1/me/mfa/totp", json={"password": PASSWORD}, headers=bearer)
    secret = begun.json()["secret"]
    confirmed = await app.post(
        "/api/v1/me/mfa/totp/confirm",
        json={"code": pyotp.TOTP(secret).at(clock.now())},
        headers=bearer,
    )
    assert confirmed.status_code == 200, confirmed.text

    challenge = (await caller.login(email, PASSWORD)).json()  # a success: the count is 0
    verify = {"mfa_token": challenge["mfa_token"], "method": "totp", "code": "000000"}
    codes = [
        (await app.post("/api/v1/auth/mfa/verify", json=verify, headers=caller.headers))
        for _ in range(5)
    ]
    assert [c.json()["code"] for c in codes] == ["mfa_code_invalid"] * 4 + ["mfa_token_invalid"]

    assert_locked(await caller.login(email, PASSWORD), 60)


async def test_a_wrong_reauthentication_is_a_failed_login(
    app: httpx.AsyncClient, email: str, clock: FixedClock
) -> None:
    caller = Caller(app)
    bearer = await caller.bearer(email)
    change = {"current_password": WRONG, "new_password": "a brand new passphrase 9"}
    for _ in range(5):
        wrong = await app.post("/api/v1/me/password", json=change, headers=bearer)
        assert_problem(wrong, 403, "reauth_failed")

    right = {**change, "current_password": PASSWORD}
    assert_locked(await app.post("/api/v1/me/password", json=right, headers=bearer), 60)
    assert_locked(await caller.elsewhere().login(email, PASSWORD), 60)  # the account's lock
    clock.advance(timedelta(seconds=60))
    assert (await app.post("/api/v1/me/password", json=right, headers=bearer)).status_code == 204


async def test_below_the_threshold_nothing_waits(app: httpx.AsyncClient, email: str) -> None:
    caller = Caller(app)
    await fail(caller, email, 4)
    assert (await caller.login(email, PASSWORD)).status_code == 200


async def test_many_sign_ins_of_one_account_at_once_all_go_through(
    app: httpx.AsyncClient, email: str
) -> None:
    caller = Caller(app)
    answers = await asyncio.gather(*(caller.login(email, PASSWORD) for _ in range(12)))
    assert [a.status_code for a in answers] == [200] * 12  # more than five, none of them failed


async def test_parallel_guesses_after_four_failures_get_one_check(
    app: httpx.AsyncClient, email: str
) -> None:
    caller = Caller(app)
    await fail(caller, email, 4)
    answers = await asyncio.gather(*(caller.login(email, WRONG) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [401] + [429] * 7
