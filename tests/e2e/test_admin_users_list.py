"""GET /api/v1/admin/users on the real database: who may list, search by email or name
prefix, pages that neither repeat nor skip while users are added, and bad parameters."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.admins import Admin
from tests.e2e.conftest import assert_problem, bearer, login, sql, unique_email, verified_user

USERS = "/api/v1/admin/users"


def tag() -> str:
    """A prefix no other test's users share."""
    return f"t{uuid.uuid4().hex[:10]}"


async def add_user(settings: Settings, email: str, display_name: str | None = None) -> str:
    return str(
        await sql(
            settings,
            "INSERT INTO accounts_user (id, email, display_name, created_at, updated_at) "
            "VALUES (gen_random_uuid(), $1, $2, now(), now()) RETURNING id",
            email,
            display_name,
        )
    )


async def page(
    client: httpx.AsyncClient, admin: Admin, **params: Any
) -> tuple[list[dict[str, Any]], str | None]:
    answer = await client.get(USERS, params=params, headers=admin.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"items", "next_cursor"}
    return body["items"], body["next_cursor"]


async def everything(
    client: httpx.AsyncClient, admin: Admin, **params: Any
) -> list[dict[str, Any]]:
    items, cursor = await page(client, admin, **params)
    while cursor is not None:
        more, cursor = await page(client, admin, cursor=cursor, **params)
        items += more
    return items


async def test_only_an_admin_signed_in_with_a_second_factor_may_list(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    assert_problem(await client.get(USERS), 401, "unauthenticated")
    email = unique_email("member")
    await verified_user(client, settings, email)
    as_member = await client.get(USERS, headers=bearer(await login(client, email)))
    assert_problem(as_member, 403, "role_required")
    password_only = await client.get(USERS, headers=admin.password_only)
    assert_problem(password_only, 403, "mfa_sign_in_required")
    assert (await client.get(USERS, headers=admin.headers)).status_code == 200


async def test_q_finds_an_email_prefix_case_insensitively_with_the_admin_shape(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    prefix = tag()
    ids = [await add_user(settings, f"{prefix}-{n}@example.com") for n in range(3)]
    await add_user(settings, f"x{prefix}@example.com")  # contains it, does not begin with it

    items = await everything(client, admin, q=f"  {prefix.upper()}-")
    assert [item["id"] for item in items] == ids  # by email
    assert items[0]["email"] == f"{prefix}-0@example.com"
    assert items[0].keys() >= {
        "id",
        "email",
        "email_verified",
        "display_name",
        "roles",
        "is_active",
        "created_at",
    }
    assert items[0]["is_active"] is True
    assert items[0]["roles"] == ["user"]


async def test_q_finds_a_display_name_prefix_case_insensitively_after_the_email_matches(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    prefix = tag()
    by_email = await add_user(settings, f"{prefix}@example.com", "Someone Else")
    bea = await add_user(settings, unique_email("bea"), f"{prefix.upper()} Bea")
    al = await add_user(settings, unique_email("al"), f"{prefix.capitalize()} Al")
    both = await add_user(settings, f"{prefix}-both@example.com", f"{prefix} Both")
    zoe = await add_user(settings, unique_email("zoe"), f"{prefix}Zoë")

    items = await everything(client, admin, q=prefix.upper(), limit=2)
    # Email matches by email, then name-only matches by lower-cased name: each user once.
    assert [item["id"] for item in items] == [both, by_email, al, bea, zoe]  # "-" < "@"
    # A prefix beyond ASCII, lower-cased as the database lower-cases the indexed names.
    assert [i["id"] for i in await everything(client, admin, q=f"{prefix}zoë")] == [zoe]
    assert await everything(client, admin, q=f"{prefix} Nobody") == []


async def test_percent_and_underscore_in_q_are_plain_characters(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    prefix = tag()
    underscore = await add_user(settings, f"{prefix}_a@example.com")
    await add_user(settings, f"{prefix}xa@example.com")
    percent = await add_user(settings, unique_email("pct"), f"{prefix}% off")
    await add_user(settings, unique_email("pct"), f"{prefix}abc")

    assert [i["id"] for i in await everything(client, admin, q=f"{prefix}_")] == [underscore]
    assert [i["id"] for i in await everything(client, admin, q=f"{prefix}%")] == [percent]
    assert len(await everything(client, admin, q=prefix)) == 4


async def test_paging_while_users_are_added_shows_each_row_once_and_skips_none(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    prefix = tag()
    existing = {await add_user(settings, f"{prefix}-m{n:02}@example.com") for n in range(12)}
    existing |= {
        await add_user(settings, unique_email("n"), f"{prefix} Name {n:02}") for n in range(9)
    }

    seen: list[str] = []
    items, cursor = await page(client, admin, q=prefix, limit=4)
    seen += [item["id"] for item in items]
    rounds = 0
    while cursor is not None:
        rounds += 1
        # Rows land before, among and after the ones still to come, in both parts.
        await add_user(settings, f"{prefix}-a{rounds:02}@example.com")
        await add_user(settings, f"{prefix}-m{rounds:02}x@example.com")
        await add_user(settings, f"{prefix}-z{rounds:02}@example.com")
        await add_user(settings, unique_email("n"), f"{prefix} Name {rounds:02}x")
        items, cursor = await page(client, admin, q=prefix, limit=4, cursor=cursor)
        seen += [item["id"] for item in items]

    assert len(seen) == len(set(seen)), "a row was shown twice"
    assert existing <= set(seen), "a row that existed at the start was skipped"
    assert rounds >= 5


async def test_the_list_without_q_pages_by_email(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    await add_user(settings, f"{tag()}@example.com")
    first, cursor = await page(client, admin, limit=1)
    assert len(first) == 1
    assert cursor is not None
    second, _ = await page(client, admin, limit=100, cursor=cursor)
    emails = [item["email"] for item in first + second]
    assert emails == sorted(emails, key=lambda email: email.encode())
    assert len(set(emails)) == len(emails)
    default, _ = await page(client, admin)
    assert len(default) == min(20, int(await sql(settings, "SELECT count(*) FROM accounts_user")))


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", "validation_failed"),
        ("limit=101", "validation_failed"),
        ("cursor=nope", "invalid_cursor"),
        ("cursor=WzIsImEiLCJiIl0", "invalid_cursor"),  # [2,"a","b"]: well-formed JSON
        ("cursor=WzEsImEiLCIwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMCJd", "invalid_cursor"),
        (f"q={'a' * 255}", "validation_failed"),
    ],
)
async def test_bad_parameters_are_422(
    client: httpx.AsyncClient, admin: Admin, query: str, code: str
) -> None:
    # The last cursor is a search's (in its name part), sent without q.
    assert_problem(await client.get(f"{USERS}?{query}", headers=admin.headers), 422, code)


async def test_limit_100_is_allowed(client: httpx.AsyncClient, admin: Admin) -> None:
    assert (await client.get(f"{USERS}?limit=100", headers=admin.headers)).status_code == 200
