"""Rate limits per client IP, with the contract's values (the defaults), on the real Redis."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, ClientFactory, assert_problem, unique_email

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
DEFAULTS = Settings.model_fields


def _contract_limits() -> dict[str, Any]:
    """The defaults users run, behind a trusted proxy so each test is its own client."""
    return {
        "rate_limit_login": DEFAULTS["rate_limit_login"].default,
        "rate_limit_register": DEFAULTS["rate_limit_register"].default,
        "trusted_proxies": ("203.0.113.7",),
    }


def a_client_ip() -> str:
    return f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


async def test_the_21st_login_in_a_minute_from_one_ip_is_429_with_rate_limit_headers(
    make_client: ClientFactory,
) -> None:
    assert DEFAULTS["rate_limit_login"].default == "20/minute"
    ip = a_client_ip()
    body = {"email": unique_email("limited"), "password": PASSWORD}
    async with make_client(**_contract_limits()) as client:
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
    async with make_client(**_contract_limits()) as client:
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


async def test_with_redis_down_limits_hold_in_the_process(make_client: ClientFactory) -> None:
    ip = a_client_ip()
    body = {"email": unique_email("limited"), "password": PASSWORD}
    async with make_client(redis_url="redis://127.0.0.1:1/0", **_contract_limits()) as client:
        codes = [
            (await client.post(LOGIN, json=body, headers={"X-Forwarded-For": ip})).status_code
            for _ in range(21)
        ]
    assert codes == [401] * 20 + [429]


@pytest.mark.parametrize("path", [LOGIN, REGISTER])
async def test_the_openapi_document_lists_the_429(client: httpx.AsyncClient, path: str) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "429" in spec["paths"][path]["post"]["responses"]
