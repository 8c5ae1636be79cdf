"""Social login through the app when the provider misbehaves: ID tokens a real provider will
not mint (wrong ``aud``/``iss``/``nonce``, expired, ``alg: none``, an unknown key…) and token
endpoints that fail, from the tests' fake provider (tests/support/fake_oidc.py). Each one ends
the callback with ``redirect_to?error=provider_error`` and creates no account; the adapter's own
tests (tests/integration/test_oidc_verification.py) check the reason for each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from gatehouse.main.settings import Settings
from tests.e2e.conftest import ClientFactory, assert_problem, sql
from tests.e2e.social import APP, PROVIDER, SocialBrowser, provider_setting, query_of
from tests.support.fake_oidc import FakeOidcProvider, Mode


@pytest_asyncio.fixture(loop_scope="session")
async def app(
    make_client: ClientFactory, fake_oidc: FakeOidcProvider
) -> AsyncIterator[httpx.AsyncClient]:
    setting = provider_setting(fake_oidc.issuer, fake_oidc.client_id, fake_oidc.client_secret)
    async with make_client(
        oidc_providers=(setting,), oauth_redirect_urls=(APP,), oidc_timeout_seconds=1.0
    ) as client:
        yield client


def fake_browser(app: httpx.AsyncClient, fake: FakeOidcProvider) -> SocialBrowser:
    async def at_provider(url: str, subject: str) -> dict[str, str]:
        fake.subject, fake.email = subject, f"{subject}@example.test"
        return await fake.authorize(url)

    return SocialBrowser(app, at_provider)


async def accounts_with(settings: Settings, email: str) -> int:
    count: int = await sql(settings, "SELECT count(*) FROM accounts_user WHERE email = $1", email)
    return count


async def test_a_good_token_from_the_fake_provider_signs_in(
    app: httpx.AsyncClient, fake_oidc: FakeOidcProvider
) -> None:
    pair = await fake_browser(app, fake_oidc).sign_in(f"good-{uuid.uuid4().hex[:12]}")
    assert pair["token_type"] == "bearer"
    (request,) = fake_oidc.token_requests
    assert request.form["grant_type"] == "authorization_code"
    assert len(request.form["code_verifier"]) >= 43  # PKCE: the verifier behind the challenge


@pytest.mark.parametrize(
    "mode",
    [
        Mode.WRONG_AUD,
        Mode.AUD_LIST_AZP_OTHER,
        Mode.AUD_OTHER_AZP_OURS,
        Mode.AUD_LIST_WITHOUT_AZP,
        Mode.WRONG_ISS,
        Mode.WRONG_NONCE,
        Mode.MISSING_NONCE,
        Mode.EXPIRED,
        Mode.MISSING_EXP,
        Mode.ALG_NONE,
        Mode.HS256_CLIENT_SECRET,
        Mode.UNKNOWN_KID,
        Mode.FORGED_SIGNATURE,
        Mode.MISSING_SUB,
        Mode.NOT_A_JWT,
        Mode.NO_ID_TOKEN,
        Mode.INVALID_GRANT,
        Mode.TOKEN_SERVER_ERROR,
        Mode.TOKEN_NOT_JSON,
        Mode.TOKEN_SLOW,
        Mode.USERINFO_OTHER_SUB,
    ],
)
async def test_a_bad_answer_from_the_provider_is_provider_error_and_changes_nothing(
    app: httpx.AsyncClient, fake_oidc: FakeOidcProvider, settings: Settings, mode: Mode
) -> None:
    subject = f"bad-{uuid.uuid4().hex[:12]}"
    fake_oidc.mode = mode

    landed = await fake_browser(app, fake_oidc).returns_to_app(subject)

    assert landed == {"error": "provider_error"}
    assert await accounts_with(settings, f"{subject}@example.test") == 0


async def test_an_unverified_email_from_the_fake_provider_creates_no_account(
    app: httpx.AsyncClient, fake_oidc: FakeOidcProvider, settings: Settings
) -> None:
    subject = f"unverified-{uuid.uuid4().hex[:12]}"
    fake_oidc.email_verified = False
    landed = await fake_browser(app, fake_oidc).returns_to_app(subject)
    assert landed == {"error": "email_not_verified"}
    assert await accounts_with(settings, f"{subject}@example.test") == 0


async def test_the_state_is_taken_even_when_the_provider_then_fails(
    app: httpx.AsyncClient, fake_oidc: FakeOidcProvider
) -> None:
    fake_oidc.mode = Mode.TOKEN_SERVER_ERROR
    user = fake_browser(app, fake_oidc)
    started = await user.authorize()
    query = await user.sign_in_at_provider(started.headers["location"], "spent-state")
    back = await user.callback(query)
    assert query_of(back.headers["location"]) == {"error": "provider_error"}

    fake_oidc.mode = Mode.GOOD  # a retry of the same callback does not get another go
    assert_problem(await user.callback(query), 400, "state_invalid")


async def test_a_callback_for_another_provider_than_the_state_is_refused(
    app: httpx.AsyncClient, fake_oidc: FakeOidcProvider
) -> None:
    user = fake_browser(app, fake_oidc)
    started = await user.authorize()
    query = await user.sign_in_at_provider(started.headers["location"], "other-provider")
    assert_problem(await user.callback(query, provider=PROVIDER + "-x"), 400, "state_invalid")
