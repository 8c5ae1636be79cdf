"""The audit trail end to end: what a user's security events look like and who can see them."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from gatehouse.main.settings import Settings
from gatehouse.shared.pg import asyncpg_dsn
from tests.e2e.conftest import bearer, login, sql, unique_email, verified_user

EVENTS = "/api/v1/me/audit-events"


async def events_of(client: httpx.AsyncClient, pair: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get(EVENTS, headers=bearer(pair))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_sign_ins_and_sign_outs_are_recorded_newest_first_for_their_owner_only(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email, other = unique_email("audit"), unique_email("audit-other")
    await verified_user(client, settings, email)
    await verified_user(client, settings, other)
    laptop = await login(client, email)
    phone = await login(client, email)
    assert (await client.post("/api/v1/auth/logout", headers=bearer(phone))).status_code == 204
    await login(client, other)
    assert (await client.post("/api/v1/auth/logout-all", headers=bearer(laptop))).status_code == 204
    current = await login(client, email)

    events = await events_of(client, current)

    assert [event["type"] for event in events] == [
        "auth.signed_in",
        "auth.all_sessions_ended",
        "auth.session_ended",
        "auth.signed_in",
        "auth.signed_in",
        "account.registered",
    ]
    assert events[-1]["details"] == {"method": "password"}
    signed_in = events[-2]
    assert signed_in["ip"] == "203.0.113.7"
    assert signed_in["details"] == {"method": "password"}
    assert events[1]["details"] == {"reason": "logout_all", "sessions": "1"}
    assert events[2]["details"]["reason"] == "logout"
    assert events[2]["session_id"] == events[3]["session_id"]  # the phone's session ended
    assert set(events[0]) == {
        "id", "occurred_at", "type", "session_id", "ip", "user_agent", "details"
    }  # fmt: skip


async def test_the_trail_pages_through_every_event_once(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("audit-pages")
    await verified_user(client, settings, email)
    pairs = [await login(client, email) for _ in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        response = await client.get(EVENTS + query, headers=bearer(pairs[-1]))
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [event["id"] for event in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6  # the registration and five sign-ins
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    ("query", "code"),
    [("cursor=nope", "invalid_cursor"), ("limit=0", "validation_failed")],
)
async def test_bad_list_parameters_are_422_problems(
    client: httpx.AsyncClient, settings: Settings, query: str, code: str
) -> None:
    email = unique_email("audit-bad")
    await verified_user(client, settings, email)
    pair = await login(client, email)
    response = await client.get(f"{EVENTS}?{query}", headers=bearer(pair))
    assert response.status_code == 422
    assert response.json()["code"] == code


async def test_the_trail_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get(EVENTS)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_events_are_append_only_in_the_database(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("audit-immutable")
    await verified_user(client, settings, email)
    await login(client, email)
    assert settings.database_url is not None
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(
                "UPDATE audit_event SET type = 'auth.nothing' WHERE user_id = "
                "(SELECT id FROM accounts_user WHERE email = $1)",
                email,
            )
    finally:
        await conn.close()
    assert (
        await sql(
            settings,
            "SELECT type FROM audit_event WHERE user_id = (SELECT id FROM accounts_user "
            "WHERE email = $1) ORDER BY id DESC LIMIT 1",
            email,
        )
        == "auth.signed_in"
    )
