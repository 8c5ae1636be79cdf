"""Social login end to end against a real OpenID provider (npm ``oidc-provider``): the
contract's /auth/oauth rows and the "Social login" security rules, over HTTP, on real
PostgreSQL and Redis. Each test signs in with subjects of its own (the provider makes up
``<subject>@example.test``, verified unless the subject starts with ``unverified-``)."""

from __future__ import annotations

import hashlib

import httpx
import jwt
import pyotp
import pytest
import redis.asyncio as redis

from gatehouse.main.settings import Settings
from gatehouse.testing.mail import free_port
from tests.e2e.conftest import (
    PASSWORD,
    ClientFactory,
    assert_problem,
    bearer,
    login,
    sql,
    verified_user,
)
from tests.e2e.social import (
    APP,
    CALLBACK,
    PROVIDER,
    SocialBrowser,
    at_provider,
    browser,
    email_of,
    me,
    provider_setting,
    query_of,
    set_cookie,
    subject,
)
from tests.support.oidc_provider import OidcProvider


async def test_a_first_sign_in_creates_a_verified_account_without_a_password(
    app: httpx.AsyncClient, settings: Settings
) -> None:
    sub = subject()
    pair = await browser(app).sign_in(sub)

    profile = await me(app, pair)
    assert profile["email"] == email_of(sub)
    assert profile["email_verified"] is True
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["fed"]
    assert await sql(
        settings, "SELECT password_hash IS NULL FROM accounts_user WHERE email = $1", email_of(sub)
    )
    identities = (await app.get("/api/v1/me/identities", headers=bearer(pair))).json()["items"]
    assert [(i["provider"], i["email"]) for i in identities] == [(PROVIDER, email_of(sub))]
    events = (await app.get("/api/v1/me/audit-events", headers=bearer(pair))).json()["items"]
    assert [(e["type"], e["details"]) for e in events] == [
        ("auth.signed_in", {"method": f"social:{PROVIDER}"}),
        ("account.identity_linked", {"provider": PROVIDER, "how": "sign_up"}),
        ("account.registered", {"method": f"social:{PROVIDER}"}),
    ]
    # A password sign-in to it gets the 401 of a wrong password.
    assert_problem(
        await app.post("/api/v1/auth/login", json={"email": email_of(sub), "password": "x" * 12}),
        401,
        "invalid_credentials",
    )


async def test_the_next_sign_in_finds_the_same_account_by_issuer_and_subject(
    app: httpx.AsyncClient,
) -> None:
    sub = subject()
    first = await me(app, await browser(app).sign_in(sub))
    second = await me(app, await browser(app).sign_in(sub))
    assert first["id"] == second["id"]


async def test_authorize_redirects_with_state_nonce_and_s256_and_binds_the_browser(
    app: httpx.AsyncClient,
) -> None:
    response = await browser(app).authorize()

    assert response.status_code == 302
    query = query_of(response.headers["location"])
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == CALLBACK
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 43
    assert len(query["nonce"]) >= 43
    assert len(query["code_challenge"]) == 43
    cookie = set_cookie(response, "gatehouse_oauth")
    assert cookie["httponly"]
    assert cookie["secure"]
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/api/v1/auth/oauth"


@pytest.mark.parametrize(
    "redirect_to",
    [APP + "/", APP + "x", APP + "?next=https://evil.example", "https://app.example.com/", ""],
)
async def test_a_redirect_to_off_the_list_is_a_400_problem_never_a_redirect(
    app: httpx.AsyncClient, redirect_to: str
) -> None:
    response = await browser(app).authorize(redirect_to)
    assert "location" not in response.headers
    code = "validation_failed" if not redirect_to else "redirect_not_allowed"
    assert_problem(response, 422 if not redirect_to else 400, code)


async def test_an_unknown_provider_is_a_404_problem(app: httpx.AsyncClient) -> None:
    assert_problem(await browser(app).authorize(provider="nobody"), 404, "provider_not_found")


async def test_a_state_from_another_browser_is_refused_and_spent(app: httpx.AsyncClient) -> None:
    victim, attacker = browser(app), browser(app)
    started = await attacker.authorize()
    query = await attacker.sign_in_at_provider(started.headers["location"], subject())

    # Login CSRF: the attacker's callback link opened in the victim's browser.
    await victim.authorize()  # the victim holds a binding of their own
    assert_problem(await victim.callback(query), 400, "state_invalid")
    # The state is spent: not even its own browser can use it now.
    assert_problem(await attacker.callback(query), 400, "state_invalid")


async def test_a_callback_without_the_binding_cookie_or_with_an_unknown_state_is_refused(
    app: httpx.AsyncClient,
) -> None:
    user = browser(app)
    started = await user.authorize()
    query = await user.sign_in_at_provider(started.headers["location"], subject())
    cookieless = SocialBrowser(app, at_provider)
    assert_problem(await cookieless.callback(query), 400, "state_invalid")
    assert_problem(await user.callback({**query, "state": "not-a-state"}), 400, "state_invalid")
    assert_problem(await user.callback({"code": query["code"]}), 400, "state_invalid")


async def test_the_login_code_is_single_use_lives_60_seconds_and_is_no_token(
    app: httpx.AsyncClient, settings: Settings
) -> None:
    user = browser(app)
    landed = await user.returns_to_app(subject())
    code = landed["code"]
    assert set(landed) == {"code"}
    assert len(code) >= 43
    assert code.count(".") == 0

    assert settings.redis_url is not None
    store = redis.Redis.from_url(settings.redis_url)
    try:
        key = "gatehouse:oauth-code:" + hashlib.sha256(code.encode()).hexdigest()
        assert 0 < await store.ttl(key) <= 60
        assert code.encode() not in (await store.get(key) or b"")
    finally:
        await store.aclose()

    assert (await user.exchange(code)).status_code == 200
    assert_problem(await user.exchange(code), 400, "token_invalid")
    assert_problem(await user.exchange("made-up"), 400, "token_invalid")


async def test_the_exchange_in_cookie_mode_sets_the_refresh_cookie(app: httpx.AsyncClient) -> None:
    user = browser(app)
    landed = await user.returns_to_app(subject())
    response = await user.exchange(landed["code"], cookie=True)
    assert response.status_code == 200, response.text
    assert "refresh_token" not in response.json()
    assert set_cookie(response, "gatehouse_refresh") is not None


async def test_a_declined_consent_returns_access_denied(app: httpx.AsyncClient) -> None:
    user = browser(app)
    started = await user.authorize()
    state = query_of(started.headers["location"])["state"]
    back = await user.callback({"state": state, "error": "access_denied"})
    assert back.status_code == 302
    assert query_of(back.headers["location"]) == {"error": "access_denied"}


async def test_a_verified_local_account_is_linked_by_a_verified_provider_email(
    app: httpx.AsyncClient, settings: Settings
) -> None:
    sub = subject()
    await verified_user(app, settings, email_of(sub))
    local = await me(app, await login(app, email_of(sub)))

    social = await me(app, await browser(app).sign_in(sub))

    assert social["id"] == local["id"]
    await login(app, email_of(sub))  # the password still works


async def test_an_unverified_local_account_is_taken_over_and_the_squatter_keeps_nothing(
    app: httpx.AsyncClient, settings: Settings
) -> None:
    sub = subject()
    registered = await app.post(
        "/api/v1/auth/register", json={"email": email_of(sub), "password": PASSWORD}
    )
    assert registered.status_code == 202
    squatter_id = await sql(
        settings, "SELECT id FROM accounts_user WHERE email = $1", email_of(sub)
    )

    owner = await me(app, await browser(app).sign_in(sub))

    assert owner["id"] == str(squatter_id)
    assert owner["email_verified"] is True
    assert_problem(
        await app.post("/api/v1/auth/login", json={"email": email_of(sub), "password": PASSWORD}),
        401,
        "invalid_credentials",
    )


async def test_an_unverified_provider_email_links_nothing(
    app: httpx.AsyncClient, settings: Settings
) -> None:
    taken = subject("unverified")
    await verified_user(app, settings, email_of(taken))
    assert await browser(app).returns_to_app(taken) == {"error": "account_exists"}

    unknown = subject("unverified")
    assert await browser(app).returns_to_app(unknown) == {"error": "email_not_verified"}
    assert (
        await sql(
            settings, "SELECT count(*) FROM accounts_user WHERE email = $1", email_of(unknown)
        )
        == 0
    )


async def test_an_account_with_a_second_factor_gets_the_mfa_step_after_the_exchange(
    app: httpx.AsyncClient, settings: Settings
) -> None:
    sub = subject()
    await verified_user(app, settings, email_of(sub))
    headers = bearer(await login(app, email_of(sub)))
    begun = await app.post("/api/v1/me/mfa/totp", json={"password": PASSWORD}, headers=headers)
    secret = begun.json()["secret"]
    totp = pyotp.TOTP(secret)
    confirmed = await app.post(
        "/api/v1/me/mfa/totp/confirm", json={"code": totp.now()}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    backup_code = confirmed.json()["backup_codes"][0]

    user = browser(app)
    landed = await user.returns_to_app(sub)
    step = await user.exchange(landed["code"])
    assert step.status_code == 200, step.text
    assert step.json()["mfa_required"] is True

    verified = await app.post(
        "/api/v1/auth/mfa/verify",
        json={"mfa_token": step.json()["mfa_token"], "method": "backup_code", "code": backup_code},
    )
    assert verified.status_code == 200, verified.text
    claims = jwt.decode(verified.json()["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["fed", "backup_code", "mfa"]


async def test_a_provider_that_does_not_answer_is_a_503_at_authorize(
    make_client: ClientFactory,
) -> None:
    setting = provider_setting(f"http://127.0.0.1:{free_port('127.0.0.1')}", "id", "secret")
    async with make_client(oidc_providers=(setting,), oauth_redirect_urls=(APP,)) as client:
        response = await SocialBrowser(client, at_provider).authorize()
    assert_problem(response, 503, "provider_unavailable")


async def test_with_redis_down_social_sign_in_is_a_503_problem(
    make_client: ClientFactory, oidc_provider: OidcProvider
) -> None:
    setting = provider_setting(
        oidc_provider.issuer, oidc_provider.client_id, oidc_provider.client_secret
    )
    async with make_client(
        oidc_providers=(setting,), oauth_redirect_urls=(APP,), redis_url="redis://127.0.0.1:1/0"
    ) as client:
        user = SocialBrowser(client, at_provider)
        assert_problem(await user.authorize(), 503, "service_unavailable")
        assert_problem(await user.exchange("any-code"), 503, "service_unavailable")


async def test_an_answer_naming_another_issuer_is_provider_error(app: httpx.AsyncClient) -> None:
    user = browser(app)
    started = await user.authorize()
    query = await user.sign_in_at_provider(started.headers["location"], subject())
    assert "iss" in query  # oidc-provider sends RFC 9207's iss
    back = await user.callback({**query, "iss": "https://evil.example"})
    assert query_of(back.headers["location"]) == {"error": "provider_error"}
