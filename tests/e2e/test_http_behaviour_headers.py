"""The delivery layer's headers: security headers on every response, HSTS when configured, and
CORS for listed origins only (a refused preflight is a problem document)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import ClientFactory, assert_problem


async def test_security_headers_are_on_every_response(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/health/live"), await client.get("/nope")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert (
            response.headers["content-security-policy"]
            == "default-src 'none'; frame-ancestors 'none'"
        )
        assert "strict-transport-security" not in response.headers
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "script-src" in docs.headers["content-security-policy"]


async def test_hsts_is_sent_when_configured(make_client: ClientFactory) -> None:
    async with make_client(hsts=True) as client:
        response = await client.get("/health/live")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_cors_answers_listed_origins_only_and_never_with_a_wildcard(
    make_client: ClientFactory,
) -> None:
    async with make_client(cors_origins=("https://app.example",)) as client:
        allowed = await client.options(
            "/api/v1/auth/login",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        other = await client.get("/health/live", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    ("origin", "method", "reason"),
    [
        ("https://evil.example", "POST", "Disallowed CORS origin"),
        ("https://app.example", "PUT", "Disallowed CORS method"),
    ],
)
async def test_a_refused_cors_preflight_is_a_problem_document(
    make_client: ClientFactory, origin: str, method: str, reason: str
) -> None:
    async with make_client(cors_origins=("https://app.example",)) as client:
        refused = await client.options(
            "/api/v1/auth/login",
            headers={"Origin": origin, "Access-Control-Request-Method": method},
        )
    body = assert_problem(refused, 400, "cors_preflight_refused")
    assert body["detail"].startswith(reason)
    if origin != "https://app.example":
        assert "access-control-allow-origin" not in refused.headers
