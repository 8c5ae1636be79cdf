"""The delivery layer's promises: problems for every error, headers, limits, operations."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, ClientFactory, assert_problem, unique_email


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/nope"), 404, "not_found")
    assert body["instance"] == "/nope"


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.delete("/api/v1/auth/register"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"]
)
async def test_a_json_endpoint_refuses_other_content_types_with_415(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = json.dumps({"email": "a@example.com", "password": PASSWORD})
    response = await client.post("/api/v1/auth/register", content=body, headers=headers)
    assert_problem(response, 415, "unsupported_media_type")


async def test_json_with_a_charset_parameter_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        content=json.dumps({"email": unique_email(), "password": PASSWORD}),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 202


async def test_a_body_over_one_mebibyte_is_a_413_problem(client: httpx.AsyncClient) -> None:
    big = json.dumps({"email": "a@example.com", "password": "x" * (1024 * 1024)})
    assert_problem(
        await client.post(
            "/api/v1/auth/register", content=big, headers={"content-type": "application/json"}
        ),
        413,
        "payload_too_large",
    )


async def test_a_streamed_body_over_the_limit_is_a_413_problem(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "a@example.com", "password": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post(
        "/api/v1/auth/register", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"password": PASSWORD}, ["body", "email"]),
        ({"email": "a@example.com", "password": PASSWORD, "admin": True}, ["body", "admin"]),
        ({"email": 42, "password": PASSWORD}, ["body", "email"]),
        ({"email": "a\u0000@example.com", "password": PASSWORD}, ["body", "email"]),
        ({"email": "a@example.com", "password": "tab\there is bad"}, ["body", "password"]),
        (
            {"email": "a@example.com", "password": PASSWORD, "display_name": "x" * 201},
            ["body", "display_name"],
        ),
    ],
)
async def test_invalid_fields_are_422_problems_listing_the_errors(
    client: httpx.AsyncClient, payload: dict[str, Any], loc: list[str]
) -> None:
    body = assert_problem(
        await client.post("/api/v1/auth/register", json=payload), 422, "validation_failed"
    )
    assert any(error["loc"] == loc for error in body["errors"]), body["errors"]
    assert all({"loc", "msg", "type"} <= error.keys() for error in body["errors"])


async def test_a_lone_surrogate_is_a_422_problem(client: httpx.AsyncClient) -> None:
    raw = '{"email": "a@example.com", "password": "abc\\ud800defghijk"}'
    response = await client.post(
        "/api/v1/auth/register", content=raw, headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["loc"] == ["body", "password"]


async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "validation_failed")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "invalid_email"),
        ({"email": "a@example.com", "password": "short"}, "weak_password"),
        ({"email": "a@example.com", "password": "password123"}, "weak_password"),
    ],
)
async def test_domain_validation_errors_are_422_problems_with_their_own_code(
    client: httpx.AsyncClient, payload: dict[str, Any], code: str
) -> None:
    assert_problem(await client.post("/api/v1/auth/register", json=payload), 422, code)


@pytest.mark.parametrize(
    ("password", "msg"),
    [
        ("short", "the password must be at least 8 characters long"),
        ("x" * 1025, "the password must be at most 1024 characters long"),
        ("password123", "the password is too common; choose another"),
        ("my grace.hopper pass", "the password must not contain your email address"),
    ],
)
async def test_a_password_the_policy_refuses_is_a_validation_error_naming_the_field(
    client: httpx.AsyncClient, password: str, msg: str
) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": "grace.hopper@example.com", "password": password}
    )
    body = assert_problem(response, 422, "weak_password")
    assert body["errors"] == [{"loc": ["body", "password"], "msg": msg, "type": "weak_password"}]
    assert body["detail"] == msg


async def test_an_unexpected_error_is_a_500_problem_without_internals(
    make_client: ClientFactory,
) -> None:
    def add_failing_route(app: FastAPI) -> None:
        async def boom() -> None:
            raise RuntimeError("secret internal detail: SELECT * FROM accounts_user")

        app.add_api_route("/boom", boom)

    async with make_client(prepare=add_failing_route) as client:
        response = await client.get("/boom", headers={"X-Request-ID": "trace-me"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "trace-me"
    assert "SELECT" not in response.text
    assert "RuntimeError" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_request_ids_are_echoed_when_well_formed_and_replaced_otherwise(
    client: httpx.AsyncClient,
) -> None:
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc.DEF_123-x"})
    assert echoed.headers["x-request-id"] == "abc.DEF_123-x"
    for bad in ("has space", "x" * 129, "semi;colon", ""):
        replaced = await client.get("/health/live", headers={"X-Request-ID": bad})
        assert replaced.headers["x-request-id"] != bad
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", replaced.headers["x-request-id"])


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


async def test_health_live_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_ready_names_redis_when_redis_is_down(make_client: ClientFactory) -> None:
    async with make_client(redis_url="redis://127.0.0.1:1/0") as client:
        body = assert_problem(await client.get("/health/ready"), 503, "dependency_unavailable")
    assert body["checks"] == {"postgres": "ok", "redis": "unavailable"}
    assert "redis" in body["detail"]


async def test_postgres_down_gives_503_problems_not_500s(
    make_client: ClientFactory, settings: Settings
) -> None:
    down = "postgresql+asyncpg://postgres@127.0.0.1:1/gatehouse"
    async with make_client(database_url=down) as client:
        ready = assert_problem(await client.get("/health/ready"), 503, "dependency_unavailable")
        assert ready["checks"]["postgres"] == "unavailable"
        register = await client.post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}
        )
        assert_problem(register, 503, "database_unavailable")
        assert register.headers["retry-after"]


async def test_metrics_are_prometheus_text_with_route_templates(client: httpx.AsyncClient) -> None:
    await client.get("/health/live")
    await client.get("/nope")
    metrics = await client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'gatehouse_http_requests_total{method="GET",route="/health/live",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "gatehouse_http_request_duration_seconds_bucket" in text
    assert "gatehouse_outbox_backlog" in text
    assert "gatehouse_webhook_backlog" in text


async def test_openapi_describes_every_route_with_stable_operation_ids(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    operations = {
        (path, method): op["operationId"]
        for path, item in spec["paths"].items()
        for method, op in item.items()
    }
    assert operations == {
        ("/api/v1/auth/register", "post"): "auth_register",
        ("/api/v1/auth/verify-email", "post"): "auth_verify_email",
        ("/api/v1/auth/verify-email/resend", "post"): "auth_verify_email_resend",
        ("/api/v1/auth/password/forgot", "post"): "auth_password_forgot",
        ("/api/v1/admin/users", "get"): "admin_list_users",
        ("/api/v1/admin/users/{user_id}", "patch"): "admin_update_user",
        ("/api/v1/admin/users/{user_id}", "get"): "admin_get_user",
        ("/api/v1/admin/audit-events", "get"): "admin_audit_events_list",
        ("/api/v1/admin/users/{user_id}/sessions/revoke", "post"): "admin_revoke_user_sessions",
        ("/api/v1/admin/users/import", "post"): "admin_import_users",
        ("/api/v1/auth/password/reset", "post"): "auth_password_reset",
        ("/api/v1/auth/login", "post"): "auth_login",
        ("/api/v1/auth/refresh", "post"): "auth_refresh",
        ("/api/v1/auth/logout", "post"): "auth_logout",
        ("/api/v1/auth/token", "post"): "auth_token",
        ("/api/v1/auth/logout-all", "post"): "auth_logout_all",
        ("/api/v1/me/sessions", "get"): "me_sessions_list",
        ("/api/v1/me/identities", "get"): "me_identities_list",
        ("/api/v1/me/identities/{provider}", "delete"): "me_identities_unlink",
        ("/api/v1/me/identities/{provider}", "post"): "me_identities_link",
        ("/api/v1/auth/oauth/{provider}/authorize", "get"): "auth_oauth_authorize",
        ("/api/v1/auth/oauth/{provider}/callback", "get"): "auth_oauth_callback",
        ("/api/v1/auth/oauth/exchange", "post"): "auth_oauth_exchange",
        ("/api/v1/me/sessions/{session_id}", "delete"): "me_sessions_revoke",
        ("/api/v1/me/audit-events", "get"): "me_audit_events_list",
        ("/api/v1/me", "get"): "me_get",
        ("/api/v1/me", "patch"): "me_update",
        ("/api/v1/me/password", "post"): "me_password_change",
        ("/api/v1/me", "delete"): "me_delete",
        ("/api/v1/me/email", "post"): "me_email_change",
        ("/api/v1/me/email/confirm", "post"): "me_email_confirm",
        ("/api/v1/auth/mfa/verify", "post"): "auth_mfa_verify",
        ("/api/v1/auth/mfa/email", "post"): "auth_mfa_email",
        ("/api/v1/me/mfa", "get"): "me_mfa_get",
        ("/api/v1/me/mfa/totp", "post"): "me_mfa_totp_begin",
        ("/api/v1/me/mfa/totp/confirm", "post"): "me_mfa_totp_confirm",
        ("/api/v1/me/mfa/totp", "delete"): "me_mfa_totp_delete",
        ("/api/v1/me/mfa/email", "post"): "me_mfa_email_enable",
        ("/api/v1/me/mfa/email", "delete"): "me_mfa_email_disable",
        ("/api/v1/me/mfa/email/code", "post"): "me_mfa_email_code",
        ("/api/v1/me/mfa/backup-codes", "post"): "me_mfa_backup_codes",
        ("/api/v1/organizations", "post"): "organizations_create",
        ("/api/v1/organizations", "get"): "organizations_list",
        ("/api/v1/organizations/{organization_id}/members", "get"): "organizations_members_list",
        ("/api/v1/organizations/{organization_id}/invitations", "post"): "organizations_invite",
        ("/api/v1/organizations/invitations/accept", "post"): "organizations_invitation_accept",
        (
            "/api/v1/organizations/{organization_id}/members/{user_id}",
            "delete",
        ): "organizations_member_remove",
        ("/api/v1/admin/organizations", "get"): "admin_organizations_list",
        ("/.well-known/jwks.json", "get"): "jwks",
        ("/.well-known/openid-configuration", "get"): "openid_configuration",
        ("/.well-known/oauth-authorization-server", "get"): "oauth_authorization_server",
        ("/health/live", "get"): "health_live",
        ("/health/ready", "get"): "health_ready",
        ("/metrics", "get"): "metrics",
    }
    me = spec["paths"]["/api/v1/me"]["get"]
    assert "401" in me["responses"]
    assert "application/problem+json" in me["responses"]["401"]["content"]
    assert me["security"] == [{"OAuth2PasswordBearer": []}]
    flows = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"


async def test_concurrent_requests_each_carry_their_own_request_id(
    client: httpx.AsyncClient,
) -> None:
    """asgi-lifespan hands every request one shared state dict; each answer must still name its
    own request, in the header and the problem body alike."""
    answers = await asyncio.gather(
        *(  # each waits on the database and a dummy hash before its 401 problem
            client.post(
                "/api/v1/auth/login", json={"email": unique_email(), "password": "wrong" * 3}
            )
            for _ in range(20)
        )
    )
    assert {answer.status_code for answer in answers} == {401}
    ids = [answer.headers["x-request-id"] for answer in answers]
    assert len(set(ids)) == len(ids)
    assert [answer.json()["request_id"] for answer in answers] == ids
