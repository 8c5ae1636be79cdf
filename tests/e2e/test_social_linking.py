"""Linking a provider account from settings (POST /me/identities/{provider}) against the real
OpenID provider, and what an administrator sees of it."""

from __future__ import annotations

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.admins import Admin
from tests.e2e.conftest import assert_problem, bearer, login, verified_user
from tests.e2e.social import (
    APP,
    PROVIDER,
    browser,
    email_of,
    me,
    query_of,
    subject,
)


async def test_linking_from_settings_links_that_provider_account_to_this_user(
    app: httpx.AsyncClient, settings: Settings
) -> None:
    local = subject("local")
    await verified_user(app, settings, email_of(local))
    pair = await login(app, email_of(local))
    user = browser(app)

    answer = await user.link(bearer(pair))
    assert answer.status_code == 200, answer.text
    elsewhere = subject("elsewhere")  # a provider account with another address
    query = await user.sign_in_at_provider(answer.json()["authorization_url"], elsewhere)
    back = await user.callback(query)
    assert query_of(back.headers["location"]) == {"linked": PROVIDER}

    assert (await me(app, await browser(app).sign_in(elsewhere)))["id"] == (await me(app, pair))[
        "id"
    ]


async def test_linking_a_provider_account_that_signs_in_elsewhere_is_account_exists(
    app: httpx.AsyncClient, settings: Settings
) -> None:
    theirs = subject()
    await browser(app).sign_in(theirs)  # another person's account
    mine = subject("mine")
    await verified_user(app, settings, email_of(mine))
    user = browser(app)
    answer = await user.link(bearer(await login(app, email_of(mine))))
    query = await user.sign_in_at_provider(answer.json()["authorization_url"], theirs)
    back = await user.callback(query)
    assert query_of(back.headers["location"]) == {"error": "account_exists"}


async def test_linking_needs_a_token_and_an_allowed_redirect(app: httpx.AsyncClient) -> None:
    user = browser(app)
    assert_problem(await user.link({}), 401, "unauthenticated")


async def test_an_administrator_sees_the_linked_provider(
    admin: Admin,  # first: its app is built before (and so wired under) this test's
    app: httpx.AsyncClient,
) -> None:
    user = await me(app, await browser(app).sign_in(subject()))
    status = await app.get(f"/api/v1/admin/users/{user['id']}", headers=admin.headers)
    assert status.status_code == 200, status.text
    assert status.json()["identities"] == [PROVIDER]


async def test_linking_an_unknown_provider_or_to_an_unlisted_page_is_refused(
    app: httpx.AsyncClient, settings: Settings
) -> None:
    local = subject("local")
    await verified_user(app, settings, email_of(local))
    headers = bearer(await login(app, email_of(local)))
    unknown = await app.post(
        "/api/v1/me/identities/nobody", json={"redirect_to": APP}, headers=headers
    )
    assert_problem(unknown, 404, "provider_not_found")
    assert_problem(
        await browser(app).link(headers, redirect_to=APP + "/other"), 400, "redirect_not_allowed"
    )
