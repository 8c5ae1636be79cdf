"""Rate limits per client IP, with the contract's values (the defaults), on the real Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gatehouse.shared.http.rate_limits import RateLimited
from tests.e2e.conftest import PASSWORD, ClientFactory, assert_problem, unique_email
from tests.e2e.rate_limits import (
    DEFAULTS,
    LOGIN,
    REFRESH,
    REGISTER,
    TOKEN,
    a_client_ip,
    contract_limits,
)


async def test_the_21st_login_in_a_minute_from_one_ip_is_429_with_rate_limit_headers(
    make_client: ClientFactory,
) -> None:
    assert DEFAULTS["rate_limit_login"].default == "20/minute"
    ip = a_client_ip()
    body = {"email": unique_email("limited"), "password": PASSWORD}
    async with make_client(**contract_limits()) as client:
        answers = [
            await client.post(LOGIN, json=body, headers={"X-Forwarded-For": ip}) for _ in range(21)
        ]
        other = await client.post(LOGIN, json=body, headers={"X-Forwarded-For": a_client_ip()})
    assert [a.status_code for a in answers[:20]] == [401] * 20  # counted, whatever the answer
    assert answers[0].headers["RateLimit-Limit"] == "20"
    assert answers[0].headers["RateLimit-Remaining"] == "19"
    assert answers[19].headers["RateLimit-Remaining"] == "0"
    refused = answers[20]
    problem = assert_problem(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["RateLimit-Policy"] == '"login";q=20;w=60'
    assert refused.headers["RateLimit"].startswith('"login";r=0;t=')
    assert "20" in problem["detail"]
    assert other.status_code == 401  # another client has its own budget


async def test_register_allows_ten_an_hour_from_one_ip(make_client: ClientFactory) -> None:
    ip = a_client_ip()
    async with make_client(**contract_limits()) as client:
        codes = [
            (
                await client.post(
                    REGISTER,
                    json={"email": unique_email("reg-limit"), "password": PASSWORD},
                    headers={"X-Forwarded-For": ip},
                )
            ).status_code
            for _ in range(11)
        ]
    assert codes == [202] * 10 + [429]


# ---------------------------------------------------------------- every limited route


@dataclass(frozen=True)
class Call:
    """One request to a limited route: a JSON body, or a form (the mailed links' pages)."""

    path: str
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None

    async def send(self, client: httpx.AsyncClient, ip: str) -> httpx.Response:
        return await client.post(
            self.path, json=self.json, data=self.form, headers={"X-Forwarded-For": ip}
        )


BOGUS = "not-a-token-" + "x" * 32
NOBODY = "nobody-rate-limited@example.com"
MFA_VERIFY = "/api/v1/auth/mfa/verify"
MFA_EMAIL = "/api/v1/auth/mfa/email"
FORGOT = "/api/v1/auth/password/forgot"
RESEND = "/api/v1/auth/verify-email/resend"
VERIFY = "/api/v1/auth/verify-email"
RESET = "/api/v1/auth/password/reset"

# Each policy of issue 11 added to login and register: its routes, which share one budget per
# client IP, and the contract's (or the issue's) numbers.
POLICIES: dict[str, tuple[str, int, int, tuple[Call, ...]]] = {
    "refresh": ("150/5 minutes", 150, 300, (Call(REFRESH, json={"refresh_token": BOGUS}),)),
    "mail_request": (
        "30/hour",
        30,
        3600,
        (
            Call(FORGOT, json={"email": NOBODY}),
            Call(RESEND, json={"email": NOBODY}),
            Call("/forgot-password", form={"email": NOBODY}),
        ),
    ),
    "token_check": (
        "60/10 minutes",
        60,
        600,
        (
            Call(VERIFY, json={"token": BOGUS}),
            Call(RESET, json={"token": BOGUS, "new_password": PASSWORD}),
            Call("/verify-email", form={"token": BOGUS}),
            Call("/reset-password", form={"token": BOGUS, "new_password": PASSWORD}),
            Call("/confirm-email", form={"token": BOGUS}),
        ),
    ),
    "mfa": (
        "30/5 minutes",
        30,
        300,
        (
            Call(MFA_VERIFY, json={"mfa_token": BOGUS, "method": "totp", "code": "123456"}),
            Call(MFA_EMAIL, json={"mfa_token": BOGUS}),
        ),
    ),
}


def assert_html_429(response: httpx.Response) -> None:
    """The mailed links' pages show errors as pages: a 429 page saying when to come back."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Too many requests</h1>" in response.text
    assert f"Try again in {response.headers['Retry-After']} seconds" in response.text


@pytest.mark.parametrize("policy", sorted(POLICIES))
async def test_each_policy_is_one_budget_for_its_routes_and_answers_429_once_over(
    make_client: ClientFactory, policy: str
) -> None:
    default, amount, window, calls = POLICIES[policy]
    assert DEFAULTS[f"rate_limit_{policy}"].default == default
    header = f'"{policy}";q={amount};w={window}'
    ip = a_client_ip()
    async with make_client(**contract_limits()) as client:
        counted = [await calls[i % len(calls)].send(client, ip) for i in range(amount)]
        refused = [(call, await call.send(client, ip)) for call in calls]
        other = await calls[0].send(client, a_client_ip())

    assert [a.status_code for a in counted if a.status_code == 429] == []
    remaining = [int(a.headers["RateLimit-Remaining"]) for a in counted]
    assert remaining == list(range(amount - 1, -1, -1))  # every route of the policy counts
    assert {a.headers["RateLimit-Policy"] for a in counted} == {header}
    for call, answer in refused:
        if call.form is not None:
            assert_html_429(answer)
        else:
            problem = assert_problem(answer, 429, "rate_limited")
            assert str(amount) in problem["detail"]
        assert 1 <= int(answer.headers["Retry-After"]) <= window
        assert answer.headers["RateLimit-Limit"] == str(amount)
        assert answer.headers["RateLimit-Remaining"] == "0"
        assert answer.headers["RateLimit-Policy"] == header
        assert answer.headers["RateLimit"].startswith(f'"{policy}";r=0;t=')
    assert other.status_code != 429  # another client has its own budget
    assert other.headers["RateLimit-Remaining"] == str(amount - 1)


# ---------------------------------------------------------------- the OAuth token endpoint


def assert_slow_down(response: httpx.Response, policy: str) -> None:
    """Over a limit, /auth/token keeps to RFC 6749 bodies: ``slow_down``, with the headers."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body.keys() == {"error", "error_description"}
    assert body["error"] == "slow_down"
    assert 1 <= int(response.headers["Retry-After"]) <= 300
    assert response.headers["RateLimit-Remaining"] == "0"
    assert response.headers["RateLimit"].startswith(f'"{policy}";r=0;t=')
    assert response.headers["Cache-Control"] == "no-store"


async def test_the_token_password_grant_and_login_share_the_login_budget(
    make_client: ClientFactory,
) -> None:
    ip = {"X-Forwarded-For": a_client_ip()}
    email = unique_email("token-limit")
    grant = {"grant_type": "password", "username": email, "password": PASSWORD}
    body = {"email": email, "password": PASSWORD}
    async with make_client(**contract_limits()) as client:
        answers = []
        for _ in range(10):
            answers.append(await client.post(LOGIN, json=body, headers=ip))
            answers.append(await client.post(TOKEN, data=grant, headers=ip))
        over_token = await client.post(TOKEN, data=grant, headers=ip)
        over_login = await client.post(LOGIN, json=body, headers=ip)
    assert [a.status_code for a in answers] == [401, 400] * 10  # invalid_grant on /token
    assert [a.headers["RateLimit-Remaining"] for a in answers] == [
        str(n) for n in range(19, -1, -1)
    ]
    assert answers[1].headers["RateLimit-Policy"] == '"login";q=20;w=60'
    assert_slow_down(over_token, "login")
    assert_problem(over_login, 429, "rate_limited")


async def test_the_token_refresh_grant_counts_against_the_refresh_limit(
    make_client: ClientFactory,
) -> None:
    ip = {"X-Forwarded-For": a_client_ip()}
    grant = {"grant_type": "refresh_token", "refresh_token": BOGUS}
    async with make_client(**contract_limits()) as client:
        unsupported = await client.post(
            TOKEN, data={"grant_type": "client_credentials"}, headers=ip
        )
        answers = []
        for _ in range(75):
            answers.append(await client.post(REFRESH, json={"refresh_token": BOGUS}, headers=ip))
            answers.append(await client.post(TOKEN, data=grant, headers=ip))
        over_token = await client.post(TOKEN, data=grant, headers=ip)
        over_refresh = await client.post(REFRESH, json={"refresh_token": BOGUS}, headers=ip)
    assert unsupported.json()["error"] == "unsupported_grant_type"
    assert "RateLimit-Limit" not in unsupported.headers  # no grant, no policy: nothing counted
    assert [a.status_code for a in answers] == [401, 400] * 75
    assert answers[-1].headers["RateLimit-Remaining"] == "0"
    assert answers[1].headers["RateLimit-Policy"] == '"refresh";q=150;w=300'
    assert_slow_down(over_token, "refresh")
    assert_problem(over_refresh, 429, "rate_limited")


# ---------------------------------------------------------------- OpenAPI

LIMITED_OPERATIONS = [
    LOGIN, REGISTER, REFRESH, TOKEN, FORGOT, RESEND, VERIFY, RESET, MFA_VERIFY, MFA_EMAIL,
    # Social login counts against the login budget.
    "/api/v1/auth/oauth/{provider}/authorize", "/api/v1/auth/oauth/{provider}/callback",
    "/api/v1/auth/oauth/exchange",
    # An invitation sends a mail: the mail_request budget.
    "/api/v1/organizations/{organization_id}/invitations",
]  # fmt: skip
RATE_LIMIT_CHECK = get_args(RateLimited)[1].dependency  # what every declaration counts through


def _counts(dependant: Dependant) -> bool:
    return any(sub.call is RATE_LIMIT_CHECK or _counts(sub) for sub in dependant.dependencies)


@pytest.mark.parametrize("path", LIMITED_OPERATIONS)
async def test_the_openapi_document_lists_the_429(client: httpx.AsyncClient, path: str) -> None:
    spec = (await client.get("/openapi.json")).json()
    (operation,) = spec["paths"][path].values()
    assert "429" in operation["responses"]


async def test_the_list_above_is_every_rate_limited_operation(client: httpx.AsyncClient) -> None:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    limited = {
        route.path
        for route in app.routes
        if isinstance(route, APIRoute) and route.include_in_schema and _counts(route.dependant)
    }
    assert limited == set(LIMITED_OPERATIONS)
    pages = {
        route.path
        for route in app.routes
        if isinstance(route, APIRoute) and not route.include_in_schema and _counts(route.dependant)
    }
    assert pages == {"/forgot-password", "/verify-email", "/reset-password", "/confirm-email"}
