"""Bodies no JSON parser should take are 400 ``malformed_body``, and on an authenticated route
only after authentication: no token (or a bad one) is 401 whatever the body."""

from __future__ import annotations

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import assert_problem, bearer, login, unique_email, verified_user

JSON = {"content-type": "application/json"}
MALFORMED = {
    "not UTF-8": (b'{"display_name": "caf\xe9"}', "not UTF-8"),
    "nested too deeply": (b'{"display_name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested"),
    "a number too long": (b'{"display_name": ' + b"9" * 5000 + b"}", "digits"),
}


@pytest.mark.parametrize("name", MALFORMED)
async def test_a_body_no_json_parser_takes_is_a_400_malformed_body(
    client: httpx.AsyncClient, name: str
) -> None:
    body, detail = MALFORMED[name]
    response = await client.post("/api/v1/auth/register", content=body, headers=JSON)
    problem = assert_problem(response, 400, "malformed_body")
    assert detail in problem["detail"]


async def test_json_that_does_not_parse_stays_a_422_json_invalid(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/auth/register", content=b'{"email": ', headers=JSON)
    problem = assert_problem(response, 422, "validation_failed")
    assert [error["type"] for error in problem["errors"]] == ["json_invalid"]


BAD_BODIES = {
    **{name: (body, JSON) for name, (body, _) in MALFORMED.items()},
    "JSON that does not parse": (b'{"display_name": ', JSON),
    "another content type": (b"display_name=x", {"content-type": "text/plain"}),
}


@pytest.mark.parametrize("name", BAD_BODIES)
@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, "unauthenticated"), ("Bearer not-a-token", "invalid_token")],
)
async def test_an_authenticated_route_authenticates_before_it_reads_the_body(
    client: httpx.AsyncClient, name: str, authorization: str | None, code: str
) -> None:
    body, headers = BAD_BODIES[name]
    if authorization:
        headers = {**headers, "authorization": authorization}
    response = await client.patch("/api/v1/me", content=body, headers=headers)
    assert_problem(response, 401, code)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_signed_in_caller_gets_the_body_problems(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("malformed")
    await verified_user(client, settings, email)
    token = bearer(await login(client, email))
    for body, _ in MALFORMED.values():
        response = await client.patch("/api/v1/me", content=body, headers={**JSON, **token})
        assert_problem(response, 400, "malformed_body")
    not_json = await client.patch(
        "/api/v1/me", content=b"display_name=x", headers={"content-type": "text/plain", **token}
    )
    assert_problem(not_json, 415, "unsupported_media_type")
    truncated = await client.patch("/api/v1/me", content=b"{", headers={**JSON, **token})
    assert_problem(truncated, 422, "validation_failed")
    fine = await client.patch("/api/v1/me", json={"display_name": "Fine"}, headers=token)
    assert fine.status_code == 200, fine.text
    assert fine.json()["display_name"] == "Fine"
