"""Social sign-in's account rules end to end, through the app's ``accounts.identities`` (the
facade auth's callback calls) and the HTTP API around it: the take-over of a squatted address,
a password login to a social-only account, and concurrent first sign-ins of one identity."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from gatehouse.main.settings import Settings
from gatehouse.modules.notifications.domain.model import SealedParams
from tests.e2e.conftest import (
    PASSWORD,
    ClientFactory,
    assert_problem,
    bearer,
    login,
    sql,
    unique_email,
    verified_user,
)
from tests.e2e.identities import (
    WHO,
    an_identity,
    backup_codes,
    identities,
    link,
    user_id_of,
)

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
TOKEN = re.compile(r"token=([A-Za-z0-9_-]+)")


async def pending_email_change(
    client: httpx.AsyncClient, settings: Settings, pair: dict[str, Any]
) -> str:
    """Ask to move the account to a new address; the confirmation link's token (read from the
    outbox, opened with the app's sealer: this client does not dispatch mail)."""
    new_email = unique_email("moved")
    asked = await client.post(
        "/api/v1/me/email",
        json={"new_email": new_email, "password": PASSWORD},
        headers=bearer(pair),
    )
    assert asked.status_code == 202, asked.text
    sealed = await sql(
        settings,
        "SELECT params #>> '{}' FROM notifications_outbox "
        "WHERE recipient = $1 AND template = 'email_change_confirm'",
        new_email,
    )
    sealer = client.app.state.container.notifications.sealer()  # type: ignore[attr-defined]
    match = TOKEN.search(sealer.open(SealedParams(sealed))["link"])
    assert match is not None
    return match.group(1)


async def test_a_verified_identity_takes_over_a_squatted_address_and_the_squatter_keeps_nothing(
    make_client: ClientFactory, settings: Settings
) -> None:
    async with make_client(require_verified_email=False) as client:  # the squatter signs in
        email = unique_email("squatted")
        registered = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 202
        squatter = await login(client, email)
        await backup_codes(client, squatter)  # a second factor of theirs
        change_token = await pending_email_change(client, settings, squatter)
        await link(client, squatter, "github")  # and a provider account of theirs

        account = await identities(client).sign_in(an_identity(email, name="Owner"), WHO)

        user_id = user_id_of(squatter)
        assert account.user_id == user_id
        assert account.email_verified
        refused = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert_problem(refused, 401, "invalid_credentials")
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": squatter["refresh_token"]}
        )
        assert refreshed.status_code == 401
        assert (await client.get("/api/v1/me", headers=bearer(squatter))).status_code == 401
        moved = await client.post(
            "/confirm-email", content=f"token={change_token}", headers=FORM_HEADERS
        )
        assert moved.status_code == 400
        assert await sql(settings, "SELECT email FROM accounts_user WHERE id = $1", user_id) == (
            email
        )

    assert await sql(
        settings,
        "SELECT email_verified_at IS NOT NULL AND password_hash IS NULL AND NOT mfa_totp "
        "AND mfa_backup_codes = 0 AND display_name = 'Owner' FROM accounts_user WHERE id = $1",
        user_id,
    )
    for table in ("auth_mfa", "auth_mfa_backup_code"):
        assert await sql(settings, f"SELECT count(*) FROM {table} WHERE user_id = $1", user_id) == 0
    assert (
        await sql(
            settings,
            "SELECT string_agg(DISTINCT revoke_reason, ',') FROM auth_session WHERE user_id = $1",
            user_id,
        )
        == "account_taken_over"
    )
    assert (
        await sql(
            settings,
            "SELECT string_agg(provider, ',') FROM accounts_identity WHERE user_id = $1",
            user_id,
        )
        == "google"
    )
    assert (
        await sql(
            settings,
            "SELECT details->>'how' FROM audit_event WHERE user_id = $1 "
            "AND type = 'account.identity_linked' AND details->>'provider' = 'google'",
            user_id,
        )
        == "take_over"
    )


async def test_a_password_login_to_a_social_only_account_is_the_same_401_as_a_wrong_password(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    social, other = unique_email("social-only"), unique_email("has-password")
    await identities(client).sign_in(an_identity(social), WHO)
    await verified_user(client, settings, other)

    no_password = await client.post(
        "/api/v1/auth/login", json={"email": social, "password": PASSWORD}
    )
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": other, "password": "not the password"}
    )

    for response in (no_password, wrong):
        assert_problem(response, 401, "invalid_credentials")
    same = ("title", "detail", "type", "status", "code")
    assert {k: no_password.json()[k] for k in same} == {k: wrong.json()[k] for k in same}
    assert no_password.headers["www-authenticate"] == wrong.headers["www-authenticate"]


async def test_concurrent_first_sign_ins_of_one_identity_make_one_account(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("race")
    identity = an_identity(email)

    accounts = await asyncio.gather(*(identities(client).sign_in(identity, WHO) for _ in range(6)))

    assert len({account.user_id for account in accounts}) == 1
    assert await sql(settings, "SELECT count(*) FROM accounts_user WHERE email = $1", email) == 1
    assert (
        await sql(
            settings, "SELECT count(*) FROM accounts_identity WHERE subject = $1", identity.subject
        )
        == 1
    )
    assert (
        await sql(
            settings,
            "SELECT count(*) FROM audit_event "
            "WHERE user_id = $1 AND type = 'account.identity_linked'",
            accounts[0].user_id,
        )
        == 1
    )


async def test_concurrent_take_overs_of_one_address_take_it_over_once(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email("race-squatted")
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 202
    identity = an_identity(email)

    accounts = await asyncio.gather(*(identities(client).sign_in(identity, WHO) for _ in range(4)))

    [user_id] = {account.user_id for account in accounts}
    assert (
        await sql(settings, "SELECT count(*) FROM accounts_identity WHERE user_id = $1", user_id)
        == 1
    )
    assert (
        await sql(
            settings,
            "SELECT string_agg(details->>'how', ',') FROM audit_event "
            "WHERE user_id = $1 AND type = 'account.identity_linked'",
            user_id,
        )
        == "take_over"
    )
