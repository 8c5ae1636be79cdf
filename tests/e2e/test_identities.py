"""GET /me/identities: the contract's list of linked social accounts; empty until social login."""

from __future__ import annotations

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import assert_problem, bearer, login, unique_email, verified_user


async def test_a_signed_in_user_has_no_linked_identities_yet(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email()
    await verified_user(client, settings, email)
    pair = await login(client, email)
    response = await client.get("/api/v1/me/identities", headers=bearer(pair))
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_identities_need_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/me/identities"), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("query", "code"),
    [("limit=0", "validation_failed"), ("cursor=nope", "invalid_cursor")],
)
async def test_bad_list_parameters_are_422_problems(
    client: httpx.AsyncClient, settings: Settings, query: str, code: str
) -> None:
    email = unique_email()
    await verified_user(client, settings, email)
    pair = await login(client, email)
    response = await client.get(f"/api/v1/me/identities?{query}", headers=bearer(pair))
    assert_problem(response, 422, code)
