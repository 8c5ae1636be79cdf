"""The OpenID provider adapter against the fake provider (tests/support/fake_oidc.py), for what
a real provider will not do: every check of the ID token (OpenID Connect Core 3.1.3.7), the
client authentication, the userinfo fallback, and a token endpoint that fails or stalls."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from gatehouse.modules.accounts.application.public import ExternalIdentity
from gatehouse.modules.auth.adapters.oidc import OidcIdentityProviders
from gatehouse.modules.auth.application.ports import AuthorizationRequest, IdentityProvider
from gatehouse.modules.auth.domain.errors import ProviderRejected, ProviderUnavailable
from tests.support.clock import FixedClock
from tests.support.fake_oidc import REDIRECT_URI, FakeOidcProvider, Mode, sign_in


async def test_a_good_id_token_gives_the_identity_with_its_email_and_name(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    identity = await sign_in(fake_oidc, fake_idp)

    assert identity == ExternalIdentity(
        provider="fake",
        issuer=fake_oidc.issuer,
        subject="fake-subject",
        email="fake@example.test",
        email_verified=True,
        display_name="Fake User",
    )
    assert fake_oidc.userinfo_requests == 0


async def test_the_authorization_url_keeps_the_endpoints_own_query(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    url = await fake_idp.authorization_url(AuthorizationRequest("s", "n", "c", REDIRECT_URI))

    assert url.startswith(f"{fake_oidc.issuer}/authorize?tenant=fake&")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["code_challenge"] == "c"
    assert query["code_challenge_method"] == "S256"


async def test_the_code_goes_with_the_pkce_verifier_and_http_basic_client_authentication(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    await sign_in(fake_oidc, fake_idp)

    [request] = fake_oidc.token_requests
    assert request.form.keys() == {"grant_type", "code", "redirect_uri", "code_verifier"}
    assert request.form["grant_type"] == "authorization_code"
    assert request.form["redirect_uri"] == REDIRECT_URI
    pair = f"{fake_oidc.client_id}:{fake_oidc.client_secret}".encode()
    assert request.authorization == f"Basic {base64.b64encode(pair).decode()}"


@pytest.mark.parametrize("advertised", [None, ["client_secret_basic"]])
async def test_basic_is_used_when_offered_or_when_no_method_is_advertised(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider, advertised: list[str] | None
) -> None:
    fake_oidc.auth_methods = advertised

    await sign_in(fake_oidc, fake_idp)

    assert fake_oidc.token_requests[0].authorization is not None


async def test_client_secret_post_is_used_when_the_provider_offers_only_that(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    fake_oidc.auth_methods = ["client_secret_post", "private_key_jwt"]

    await sign_in(fake_oidc, fake_idp)

    [request] = fake_oidc.token_requests
    assert request.authorization is None
    assert request.form["client_id"] == fake_oidc.client_id
    assert request.form["client_secret"] == fake_oidc.client_secret


async def test_a_client_registered_for_post_is_refused_basic_once_then_uses_post(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    fake_oidc.registered_auth_method = "client_secret_post"

    await sign_in(fake_oidc, fake_idp)
    await sign_in(fake_oidc, fake_idp)

    methods = ["basic" if r.authorization else "post" for r in fake_oidc.token_requests]
    assert methods == ["basic", "post", "post"]


async def test_a_provider_without_client_secret_authentication_is_unavailable(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    fake_oidc.auth_methods = ["private_key_jwt"]

    with pytest.raises(ProviderUnavailable, match="client_secret_basic"):
        await sign_in(fake_oidc, fake_idp)


REJECTED = [
    (Mode.WRONG_AUD, r"aud"),
    (Mode.AUD_LIST_AZP_OTHER, r"azp"),
    (Mode.AUD_OTHER_AZP_OURS, r"aud"),
    (Mode.AUD_LIST_WITHOUT_AZP, r"azp"),
    (Mode.WRONG_ISS, r"iss"),
    (Mode.WRONG_NONCE, r"nonce"),
    (Mode.MISSING_NONCE, r"no nonce"),
    (Mode.EXPIRED, r"expired"),
    (Mode.MISSING_EXP, r"no exp"),
    (Mode.MISSING_IAT, r"no iat"),
    (Mode.MISSING_SUB, r"no sub"),
    (Mode.LONG_SUB, r"sub is not 1 to 255"),
    (Mode.ALG_NONE, r"'none'"),
    (Mode.HS256_CLIENT_SECRET, r"'HS256'"),
    (Mode.UNKNOWN_KID, r"key the provider does not publish"),
    (Mode.FORGED_SIGNATURE, r"signature does not verify"),
    (Mode.NOT_A_JWT, r"not a signed JWT"),
    (Mode.NO_ID_TOKEN, r"gave no ID token"),
    (Mode.RS256_NOT_ADVERTISED, r"'RS256'"),
    (Mode.KID_OF_RSA_KEY, r"not a ES256 signing key"),
    (Mode.INVALID_GRANT, r"refused the code: invalid_grant"),
    (Mode.USERINFO_OTHER_SUB, r"userinfo is about another subject"),
    (Mode.USERINFO_REFUSED, r"userinfo endpoint answered 401"),
]


@pytest.mark.parametrize(("mode", "reason"), REJECTED, ids=[mode for mode, _ in REJECTED])
async def test_an_answer_breaking_a_rule_is_rejected_for_that_rule(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider, mode: Mode, reason: str
) -> None:
    fake_oidc.mode = mode

    with pytest.raises(ProviderRejected, match=reason):
        await sign_in(fake_oidc, fake_idp)


async def test_several_audiences_are_accepted_when_azp_is_this_client(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    fake_oidc.mode = Mode.AUD_LIST_AZP_OURS

    assert (await sign_in(fake_oidc, fake_idp)).subject == "fake-subject"


async def test_a_token_without_kid_is_verified_by_the_one_key_that_fits_and_no_other(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider, oidc_clock: FixedClock
) -> None:
    fake_oidc.mode = Mode.NO_KID
    await sign_in(fake_oidc, fake_idp)  # one ES256 key (and an RSA one) published

    fake_oidc.rotate_key()  # two ES256 keys: which one is meant?
    oidc_clock.advance(timedelta(minutes=5, seconds=1))  # the cached JWKS expires

    with pytest.raises(ProviderRejected, match="names no key and 2 published keys fit ES256"):
        await sign_in(fake_oidc, fake_idp)


async def test_a_wrong_code_verifier_or_nonce_is_rejected(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    with pytest.raises(ProviderRejected, match="invalid_grant"):
        await sign_in(fake_oidc, fake_idp, verifier="x" * 43)
    with pytest.raises(ProviderRejected, match="nonce"):
        await sign_in(fake_oidc, fake_idp, nonce="another-nonce")


@pytest.mark.parametrize(
    ("minted_ago", "accepted"),
    [
        (timedelta(seconds=330), True),  # expired 30 s ago: within the 60 s leeway
        (timedelta(seconds=370), False),  # expired 70 s ago
        (timedelta(seconds=-30), True),  # issued 30 s ahead of our clock
        (timedelta(seconds=-90), False),  # issued 90 s ahead
    ],
)
async def test_expiry_and_issue_time_are_checked_with_a_minute_of_leeway(
    fake_oidc: FakeOidcProvider,
    fake_idp: IdentityProvider,
    oidc_clock: FixedClock,
    minted_ago: timedelta,
    accepted: bool,
) -> None:
    fake_oidc.clock = FixedClock(oidc_clock.now() - minted_ago)  # its tokens live 300 s

    if accepted:
        await sign_in(fake_oidc, fake_idp)
    else:
        with pytest.raises(ProviderRejected, match=r"expired|future"):
            await sign_in(fake_oidc, fake_idp)


@pytest.mark.parametrize(
    ("sent", "verified"),
    [(True, True), ("true", True), (False, False), ("false", False), ("True", False), (1, False)],
)
async def test_email_verified_is_true_only_for_true_or_the_string_true(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider, sent: object, verified: bool
) -> None:
    fake_oidc.email_verified = sent

    assert (await sign_in(fake_oidc, fake_idp)).email_verified is verified


async def test_an_id_token_without_email_takes_it_from_userinfo_about_the_same_subject(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    fake_oidc.mode = Mode.USERINFO

    identity = await sign_in(fake_oidc, fake_idp)

    assert fake_oidc.userinfo_requests == 1
    assert identity.subject == "fake-subject"
    assert identity.email == "fake@example.test"
    assert identity.email_verified is True
    assert identity.display_name == "Fake User"


@pytest.mark.parametrize("mode", [Mode.TOKEN_SERVER_ERROR, Mode.TOKEN_NOT_JSON])
async def test_a_token_endpoint_failing_or_answering_nonsense_is_unavailable(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider, mode: Mode
) -> None:
    fake_oidc.mode = mode

    with pytest.raises(ProviderUnavailable, match="token endpoint answered"):
        await sign_in(fake_oidc, fake_idp)


async def test_a_token_endpoint_that_stalls_is_unavailable_after_the_deadline(
    fake_oidc: FakeOidcProvider, oidc_clock: FixedClock
) -> None:
    # The fake answers after 3 s; without the deadline the sign-in would succeed then.
    providers = OidcIdentityProviders([fake_oidc.config()], clock=oidc_clock, timeout=0.5)
    provider = providers.get("fake")
    assert provider is not None
    url = await provider.authorization_url(AuthorizationRequest("s", "n", "c", REDIRECT_URI))
    code = (await fake_oidc.authorize(url))["code"]
    fake_oidc.mode = Mode.TOKEN_SLOW

    try:
        with pytest.raises(ProviderUnavailable, match=r"no answer within 0.5 s"):
            await provider.identify(
                code=code, code_verifier="v", redirect_uri=REDIRECT_URI, nonce="n"
            )
    finally:
        await providers.aclose()
