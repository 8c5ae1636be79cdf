"""/me/identities end to end: the list of linked social accounts and unlinking one, on real
PostgreSQL, Redis and SMTP. Identities are linked through the app's ``accounts.identities``
(``tests/e2e/identities.py``) until the OpenID flow is served."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gatehouse.main.settings import Settings
from gatehouse.modules.accounts.application.identity_settings import UnlinkIdentity
from gatehouse.shared.step_up import StepUpProof
from tests.e2e.conftest import (
    PASSWORD,
    account,
    assert_problem,
    bearer,
    login,
    sql,
    unique_email,
    verified_user,
)
from tests.e2e.identities import (
    IDENTITIES,
    WHO,
    backup_codes,
    identities,
    link,
    listed,
    unlink,
    user_id_of,
    without_password,
)


async def signed_in(client: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    email = unique_email("identities")
    await verified_user(client, settings, email)
    return await login(client, email)


async def test_a_user_without_linked_identities_has_an_empty_list(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    pair = await signed_in(client, settings)
    assert await listed(client, pair) == {"items": [], "next_cursor": None}


async def test_a_linked_identity_is_listed_and_a_sign_in_with_it_shows_when(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    pair = await signed_in(client, settings)
    [google] = await link(client, pair, "google")

    [item] = (await listed(client, pair))["items"]
    assert item.keys() == {"provider", "email", "created_at", "last_used_at"}
    assert (item["provider"], item["email"], item["last_used_at"]) == (
        "google",
        google.email,
        None,
    )
    datetime.fromisoformat(item["created_at"])

    account = await identities(client).sign_in(google, WHO)
    assert account.user_id == user_id_of(pair)
    [item] = (await listed(client, pair))["items"]
    assert item["last_used_at"] is not None
    assert item["last_used_at"] >= item["created_at"]


async def test_the_list_pages_newest_first_with_limit_and_cursor(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    pair = await signed_in(client, settings)
    await link(client, pair, "google", "github", "gitlab")
    await link(client, await signed_in(client, settings), "google")  # somebody else's

    first = await listed(client, pair, "?limit=2")
    assert [i["provider"] for i in first["items"]] == ["gitlab", "github"]
    assert first["next_cursor"]
    rest = await listed(client, pair, f"?limit=2&cursor={first['next_cursor']}")
    assert [i["provider"] for i in rest["items"]] == ["google"]
    assert rest["next_cursor"] is None


async def test_identities_need_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(IDENTITIES), 401, "unauthenticated")
    assert_problem(await client.delete(f"{IDENTITIES}/google"), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("query", "code"),
    [("limit=0", "validation_failed"), ("cursor=nope", "invalid_cursor")],
)
async def test_bad_list_parameters_are_422_problems(
    client: httpx.AsyncClient, settings: Settings, query: str, code: str
) -> None:
    pair = await signed_in(client, settings)
    response = await client.get(f"{IDENTITIES}?{query}", headers=bearer(pair))
    assert_problem(response, 422, code)


async def test_unlinking_with_the_password_notifies_the_owner_and_is_in_the_trail(
    mailing: httpx.AsyncClient, settings: Settings, smtp_server: Any
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "unlink")
    pair = await login(client, email)
    await link(client, pair, "google", "github")
    await smtp_server.wait_for(2)  # the two "linked" notices
    smtp_server.clear()

    response = await unlink(client, pair, "google", {"password": PASSWORD})

    assert response.status_code == 204, response.text
    assert [i["provider"] for i in (await listed(client, pair))["items"]] == ["github"]
    [notice] = await smtp_server.wait_for(1)
    assert notice["To"] == email
    assert notice["Subject"] == "A sign-in provider was unlinked from your account"
    events = (await client.get("/api/v1/me/audit-events", headers=bearer(pair))).json()["items"]
    assert [(e["type"], e["details"]) for e in events[:3]] == [
        ("account.identity_unlinked", {"provider": "google"}),
        ("account.identity_linked", {"provider": "github", "how": "settings"}),
        ("account.identity_linked", {"provider": "google", "how": "settings"}),
    ]
    assert events[0]["ip"] == "203.0.113.7"
    assert events[0]["user_agent"].startswith("python-httpx/")


@pytest.mark.parametrize(
    "body", [None, {}, {"password": "anything at all"}, {"code": "123456"}], ids=str
)
async def test_the_last_way_to_sign_in_is_409_before_any_proof_is_checked(
    client: httpx.AsyncClient, settings: Settings, body: object
) -> None:
    pair = await signed_in(client, settings)
    await link(client, pair, "google")
    await without_password(settings, pair)

    assert_problem(await unlink(client, pair, "google", body), 409, "last_sign_in_method")
    assert len((await listed(client, pair))["items"]) == 1


async def test_a_wrong_password_is_403_and_unlinks_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    pair = await signed_in(client, settings)
    await link(client, pair, "google")

    wrong = await unlink(client, pair, "google", {"password": "not the password"})
    assert_problem(wrong, 403, "reauth_failed")
    assert_problem(await unlink(client, pair, "google"), 403, "reauth_failed")  # no proof
    assert len((await listed(client, pair))["items"]) == 1


async def test_an_unlinked_provider_is_404_and_both_proofs_at_once_422(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    pair = await signed_in(client, settings)
    await link(client, pair, "google")

    assert_problem(
        await unlink(client, pair, "github", {"password": PASSWORD}), 404, "identity_not_found"
    )
    both = await unlink(client, pair, "google", {"password": PASSWORD, "code": "123456"})
    assert_problem(both, 422, "validation_failed")


async def test_two_concurrent_unlinks_of_the_last_two_identities_leave_one(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    pair = await signed_in(client, settings)
    codes = await backup_codes(client, pair)  # proofs for an account without a password
    await link(client, pair, "google", "github")
    await without_password(settings, pair)

    responses = await asyncio.gather(
        unlink(client, pair, "google", {"code": codes[0]}),
        unlink(client, pair, "github", {"code": codes[1]}),
    )

    assert sorted(r.status_code for r in responses) == [204, 409], [r.text for r in responses]
    [loser] = [r for r in responses if r.status_code == 409]
    assert_problem(loser, 409, "last_sign_in_method")
    assert len((await listed(client, pair))["items"]) == 1
    remaining = await sql(
        settings,
        "SELECT count(*) FROM accounts_identity WHERE user_id = $1",
        user_id_of(pair),
    )
    assert remaining == 1


async def test_unlinks_that_both_passed_the_first_check_are_decided_again_under_the_lock(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Both requests are let past the check made before the proof (a barrier in the step-up),
    so only the check in the unlinking transaction, with the account's row locked, decides."""
    pair = await signed_in(client, settings)
    await link(client, pair, "google", "github")
    await without_password(settings, pair)
    user_id = user_id_of(pair)
    both_checked = asyncio.Barrier(2)

    async def prove() -> StepUpProof:
        await both_checked.wait()
        return StepUpProof(user_id, "totp", datetime.now(UTC))

    handler = client.app.state.container.accounts.unlink_identity()  # type: ignore[attr-defined]
    outcomes = await asyncio.gather(
        handler(UnlinkIdentity(user_id, "google", prove, WHO)),
        handler(UnlinkIdentity(user_id, "github", prove, WHO)),
        return_exceptions=True,
    )

    assert sorted(type(o).__name__ for o in outcomes) == ["LastSignInMethod", "NoneType"]
    assert len((await listed(client, pair))["items"]) == 1
