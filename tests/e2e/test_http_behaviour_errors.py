"""The delivery layer's problem documents: an RFC 9457 problem for every error (unknown path,
wrong method, wrong content type, oversized or malformed bodies, invalid fields, refused
passwords, unexpected errors without internals)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

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
