"""Logout, session management and revocation that neither a Redis flush nor an outage undoes."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import redis.asyncio as redis
from fastapi import FastAPI

from gatehouse.main.settings import Settings
from gatehouse.modules.auth.adapters.keys import generate_key
from tests.e2e.conftest import ClientFactory, bearer, login, unique_email, verified_user
from tests.support.processes import PrivateRedis, redis_server_binary

pytestmark = pytest.mark.xdist_group("sessions")


async def signed_in_twice(
    client: httpx.AsyncClient, settings: Settings
) -> tuple[dict[str, Any], dict[str, Any]]:
    email = unique_email("devices")
    await verified_user(client, settings, email)
    return await login(client, email), await login(client, email)


async def assert_refused(client: httpx.AsyncClient, pair: dict[str, Any]) -> None:
    me = await client.get("/api/v1/me", headers=bearer(pair))
    assert me.status_code == 401
    assert me.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refreshed.status_code == 401


async def test_logout_ends_the_session_at_once_and_leaves_other_devices_alone(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    laptop, phone = await signed_in_twice(client, settings)
    response = await client.post("/api/v1/auth/logout", headers=bearer(laptop))
    assert response.status_code == 204
    await assert_refused(client, laptop)
    assert (await client.get("/api/v1/me", headers=bearer(phone))).status_code == 200


async def test_logout_with_a_json_body_naming_the_refresh_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    laptop, phone = await signed_in_twice(client, settings)
    response = await client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": phone["refresh_token"]},
        headers=bearer(laptop),
    )
    assert response.status_code == 204
    await assert_refused(client, laptop)
    await assert_refused(client, phone)


async def test_logout_all_ends_every_session(client: httpx.AsyncClient, settings: Settings) -> None:
    laptop, phone = await signed_in_twice(client, settings)
    assert (await client.post("/api/v1/auth/logout-all", headers=bearer(phone))).status_code == 204
    await assert_refused(client, laptop)
    await assert_refused(client, phone)


async def test_sessions_are_listed_newest_first_with_the_current_one_marked(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("list")
    await verified_user(client, settings, email)
    pairs = [await login(client, email) for _ in range(3)]

    first = await client.get("/api/v1/me/sessions?limit=2", headers=bearer(pairs[0]))
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = await client.get(
        f"/api/v1/me/sessions?limit=2&cursor={page['next_cursor']}", headers=bearer(pairs[0])
    )
    items = page["items"] + rest.json()["items"]
    assert rest.json()["next_cursor"] is None
    assert len(items) == 3
    assert [item["current"] for item in items] == [False, False, True]  # pairs[0] is the oldest
    assert items[0]["ip"] == "203.0.113.7"
    assert {"id", "created_at", "last_used_at", "user_agent", "ip", "current"} == items[0].keys()


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", "validation_failed"),
        ("limit=101", "validation_failed"),
        ("cursor=nope", "invalid_cursor"),
    ],
)
async def test_bad_list_parameters_are_422_problems(
    client: httpx.AsyncClient, settings: Settings, query: str, code: str
) -> None:
    pair, _ = await signed_in_twice(client, settings)
    response = await client.get(f"/api/v1/me/sessions?{query}", headers=bearer(pair))
    assert response.status_code == 422
    assert response.json()["code"] == code


async def test_signing_out_another_device_refuses_its_tokens_on_the_next_request(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    laptop, phone = await signed_in_twice(client, settings)
    sessions = (await client.get("/api/v1/me/sessions", headers=bearer(laptop))).json()["items"]
    phone_session = next(s for s in sessions if not s["current"])
    response = await client.delete(
        f"/api/v1/me/sessions/{phone_session['id']}", headers=bearer(laptop)
    )
    assert response.status_code == 204
    await assert_refused(client, phone)
    assert (await client.get("/api/v1/me", headers=bearer(laptop))).status_code == 200


async def test_another_users_session_is_not_found(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    mine, _ = await signed_in_twice(client, settings)
    theirs, _ = await signed_in_twice(client, settings)
    their_id = next(
        s["id"]
        for s in (await client.get("/api/v1/me/sessions", headers=bearer(theirs))).json()["items"]
        if s["current"]
    )
    response = await client.delete(f"/api/v1/me/sessions/{their_id}", headers=bearer(mine))
    assert response.status_code == 404
    assert response.json()["code"] == "session_not_found"
    assert (await client.get("/api/v1/me", headers=bearer(theirs))).status_code == 200


async def test_a_redis_flush_does_not_make_a_revoked_token_valid(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    laptop, phone = await signed_in_twice(client, settings)
    await client.post("/api/v1/auth/logout", headers=bearer(laptop))
    assert settings.redis_url is not None
    flusher = redis.Redis.from_url(settings.redis_url)
    try:
        await flusher.flushdb()
    finally:
        await flusher.aclose()
    await assert_refused(client, laptop)  # PostgreSQL answers, and the denylist is rebuilt
    assert (await client.get("/api/v1/me", headers=bearer(phone))).status_code == 200
    await assert_refused(client, laptop)  # now from the rebuilt denylist


async def test_with_redis_down_revoked_tokens_stay_refused_and_valid_ones_work(
    make_client: ClientFactory, settings: Settings
) -> None:
    async with make_client(redis_url="redis://127.0.0.1:1/0") as client:
        laptop, phone = await signed_in_twice(client, settings)
        assert (await client.post("/api/v1/auth/logout", headers=bearer(laptop))).status_code == 204
        await assert_refused(client, laptop)
        assert (await client.get("/api/v1/me", headers=bearer(phone))).status_code == 200


async def test_a_revocation_whose_redis_write_failed_still_reaches_every_reader(
    make_client: ClientFactory, settings: Settings
) -> None:
    """A partial partition: the revoking process cannot write to a Redis that the others (here,
    the same app's checks) still read with its marker set. The periodic sync closes the gap."""

    def lose_redis_writes(app: FastAPI) -> None:
        revocations = app.state.container.auth.revocations()

        async def write_failed(session_ids: list[uuid.UUID]) -> None:
            """As the adapter behaves when its write fails: PostgreSQL holds it, Redis not."""

        revocations.revoked = write_failed

    async with make_client(prepare=lose_redis_writes, revocation_sync_seconds=0.2) as client:
        laptop, phone = await signed_in_twice(client, settings)
        # Redis now holds the complete denylist (marker set), so Redis answers the checks.
        assert (await client.get("/api/v1/me", headers=bearer(phone))).status_code == 200
        sid = jwt.decode(phone["access_token"], options={"verify_signature": False})["sid"]
        ended = await client.delete(f"/api/v1/me/sessions/{sid}", headers=bearer(laptop))
        assert ended.status_code == 204

        deadline = asyncio.get_running_loop().time() + 5  # 25 sync intervals
        while (await client.get("/api/v1/me", headers=bearer(phone))).status_code != 401:
            assert asyncio.get_running_loop().time() < deadline, "the sync never copied it"
            await asyncio.sleep(0.05)
        await assert_refused(client, phone)


async def test_a_redis_restarted_from_an_older_snapshot_does_not_revive_a_revoked_token(
    make_client: ClientFactory, settings: Settings, tmp_path: Path
) -> None:
    """What a failover to a replica that missed the last writes does, deterministically: the
    Redis that answers after the reconnection holds the denylist's marker but not the latest
    revocation. The marker names the server that built the denylist, so it is not trusted."""
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (install the embedded extra: make install)")
    server = PrivateRedis(binary, tmp_path)
    server.start()
    try:
        # No sync during the test (60 s): it would copy the revocation back after a while.
        async with make_client(redis_url=server.url, revocation_sync_seconds=60) as client:
            laptop, phone = await signed_in_twice(client, settings)
            assert (await client.get("/api/v1/me", headers=bearer(laptop))).status_code == 200
            server.snapshot()  # the denylist is complete here, and the laptop not revoked
            logout = await client.post("/api/v1/auth/logout", headers=bearer(laptop))
            assert logout.status_code == 204
            await assert_refused(client, laptop)

            server.stop()
            server.start()  # from the snapshot: the marker, without the laptop's revocation

            await assert_refused(client, laptop)  # at once, no sync needed
            assert (await client.get("/api/v1/me", headers=bearer(phone))).status_code == 200
            sid = jwt.decode(laptop["access_token"], options={"verify_signature": False})["sid"]
            check = server.client()
            try:  # the denylist rebuilt on the restarted server
                assert check.exists(f"gatehouse:session-revoked:{sid}")
            finally:
                check.close()
            await assert_refused(client, laptop)
    finally:
        server.stop()


async def test_logout_needs_a_valid_token(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/auth/logout", "/api/v1/auth/logout-all"):
        response = await client.post(path)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


async def test_a_rotated_key_is_picked_up_without_a_restart_and_old_tokens_stay_valid(
    make_client: ClientFactory, settings: Settings, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    email = unique_email("rotation")
    async with make_client(keys_dir=keys, keys_reload_seconds=0) as client:
        await verified_user(client, settings, email)
        before = await login(client, email)
        generate_key(keys)  # what `gatehouse keys rotate` does; no activation delay here

        published = (await client.get("/.well-known/jwks.json")).json()["keys"]
        after = await login(client, email)

        assert len(published) == 2
        old_kid, new_kid = (
            jwt.get_unverified_header(p["access_token"])["kid"] for p in (before, after)
        )
        assert {old_kid, new_kid} == {key["kid"] for key in published}
        assert old_kid != new_kid
        for pair in (before, after):
            assert (await client.get("/api/v1/me", headers=bearer(pair))).status_code == 200
