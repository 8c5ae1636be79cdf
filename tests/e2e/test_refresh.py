"""Refresh-token rotation on the real database: reuse detection and truly concurrent refreshes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from dependency_injector import providers
from fastapi import FastAPI

from gatehouse.main.settings import Settings
from tests.e2e.conftest import ClientFactory, bearer, login, sql, unique_email, verified_user
from tests.support.clock import FixedClock

pytestmark = pytest.mark.xdist_group("refresh")


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_refresh_rotates_and_the_new_tokens_work(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("refresh")
    await verified_user(client, settings, email)
    first = await login(client, email)

    response = await refresh(client, first["refresh_token"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["token_type"] == "bearer"
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/api/v1/me", headers=bearer(second))
    assert me.status_code == 200
    assert (await refresh(client, second["refresh_token"])).status_code == 200


async def test_reuse_after_the_grace_interval_revokes_the_whole_session(
    make_client: ClientFactory, settings: Settings
) -> None:
    clock = FixedClock(datetime.now(UTC))

    def fixed_clock(app: FastAPI) -> None:
        app.state.container.clock.override(providers.Object(clock))

    email = unique_email("reuse")
    async with make_client(prepare=fixed_clock) as client:
        await verified_user(client, settings, email)
        first = await login(client, email)
        child = (await refresh(client, first["refresh_token"])).json()

        clock.advance(timedelta(seconds=10))  # still within the grace interval
        replay = await refresh(client, first["refresh_token"])
        assert replay.status_code == 200
        assert replay.json()["refresh_token"] == child["refresh_token"]

        auth = bearer(child)
        assert (await client.get("/api/v1/me", headers=auth)).status_code == 200
        # (which also left Redis holding the complete denylist, so Redis answers the next check)

        clock.advance(timedelta(seconds=1))  # past it: theft is assumed
        stolen = await client.post(
            "/api/v1/auth/refresh",
            json={"refresh_token": first["refresh_token"]},
            headers={"User-Agent": "thief/1.0"},
        )
        assert stolen.status_code == 401
        assert stolen.json()["code"] == "refresh_token_reused"
        newest = await refresh(client, child["refresh_token"])
        assert newest.status_code == 401
        assert newest.json()["code"] == "refresh_token_invalid"
        # The session's access tokens end with it, without waiting for them to expire.
        assert (await client.get("/api/v1/me", headers=auth)).status_code == 401

        fresh = await login(client, email)
        events = await client.get(
            "/api/v1/me/audit-events",
            headers=bearer(fresh),
        )
    assert events.status_code == 200
    reused = [e for e in events.json()["items"] if e["type"] == "auth.refresh_token_reused"]
    assert len(reused) == 1
    sid = jwt.decode(first["access_token"], options={"verify_signature": False})["sid"]
    assert reused[0]["session_id"] == sid
    assert reused[0]["user_agent"] == "thief/1.0"
    assert reused[0]["ip"] == "203.0.113.7"
    assert reused[0]["details"] == {"generation": "0"}
    # The reused token's session, not the fresh login's.
    reason = await sql(settings, "SELECT revoke_reason FROM auth_session WHERE id = $1::uuid", sid)
    assert reason == "refresh_token_reuse"


async def test_twenty_concurrent_refreshes_leave_exactly_one_live_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("race")
    await verified_user(client, settings, email)
    token = (await login(client, email))["refresh_token"]
    for _ in range(15):  # the race, again and again, on one session
        responses = await asyncio.gather(*(refresh(client, token) for _ in range(20)))
        assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
        children = {r.json()["refresh_token"] for r in responses}
        assert len(children) == 1  # every racer got the same child
        token = children.pop()
    live = await sql(
        settings,
        "SELECT count(*) FROM auth_refresh_token t JOIN auth_session s ON s.id = t.session_id "
        "JOIN accounts_user u ON u.id = s.user_id WHERE u.email = $1 AND t.rotated_at IS NULL",
        email,
    )
    assert live == 1
    assert (await refresh(client, token)).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"refresh_token": "not-a-token"}, 401, "refresh_token_invalid"),
        ({"refresh_token": ""}, 422, "validation_failed"),
        ({"refresh_token": "x" * 257}, 422, "validation_failed"),
        ({}, 401, "refresh_token_invalid"),  # no token in the body: the cookie is looked for
    ],
)
async def test_bad_refresh_requests_are_problems(
    client: httpx.AsyncClient, body: dict[str, str], status: int, code: str
) -> None:
    response = await client.post("/api/v1/auth/refresh", json=body)
    assert response.status_code == status
    assert response.json()["code"] == code
