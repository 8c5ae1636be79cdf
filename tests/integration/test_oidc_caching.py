"""How the OpenID provider adapter keeps a provider's discovery document and JWKS (ADR 0022),
against the fake provider that counts its requests, on a clock the test moves."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from gatehouse.modules.auth.application.ports import AuthorizationRequest, IdentityProvider
from gatehouse.modules.auth.domain.errors import ProviderRejected, ProviderUnavailable
from tests.support.clock import FixedClock
from tests.support.fake_oidc import REDIRECT_URI, FakeOidcProvider, Mode, sign_in


async def test_many_sign_ins_fetch_the_discovery_document_and_the_jwks_once(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    for _ in range(3):
        await sign_in(fake_oidc, fake_idp)

    assert (fake_oidc.discovery_requests, fake_oidc.jwks_requests) == (1, 1)


async def test_concurrent_first_sign_ins_share_one_fetch_of_each_document(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    request = AuthorizationRequest("s", "n", "c", REDIRECT_URI)
    await asyncio.gather(*(fake_idp.authorization_url(request) for _ in range(5)))
    assert fake_oidc.discovery_requests == 1

    identities = await asyncio.gather(*(sign_in(fake_oidc, fake_idp) for _ in range(5)))

    assert len(identities) == 5
    assert (fake_oidc.discovery_requests, fake_oidc.jwks_requests) == (1, 1)


@pytest.mark.parametrize(
    ("cache_control", "lifetime"),
    [
        ("public, max-age=120", timedelta(seconds=120)),
        ("max-age=86400", timedelta(hours=1)),  # at most an hour
        (None, timedelta(minutes=5)),  # the default
        ("no-store", timedelta(minutes=5)),
        ("max-age=0", timedelta(minutes=5)),
    ],
)
async def test_the_jwks_is_kept_for_its_max_age_at_most_an_hour_else_five_minutes(
    fake_oidc: FakeOidcProvider,
    fake_idp: IdentityProvider,
    oidc_clock: FixedClock,
    cache_control: str | None,
    lifetime: timedelta,
) -> None:
    fake_oidc.jwks_cache_control = cache_control
    fake_oidc.discovery_cache_control = "max-age=3600"
    await sign_in(fake_oidc, fake_idp)

    oidc_clock.advance(lifetime - timedelta(seconds=1))
    await sign_in(fake_oidc, fake_idp)
    assert fake_oidc.jwks_requests == 1

    oidc_clock.advance(timedelta(seconds=2))
    await sign_in(fake_oidc, fake_idp)
    assert fake_oidc.jwks_requests == 2


async def test_the_discovery_document_is_kept_for_its_max_age(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider, oidc_clock: FixedClock
) -> None:
    fake_oidc.discovery_cache_control = "max-age=600"
    request = AuthorizationRequest("s", "n", "c", REDIRECT_URI)
    await fake_idp.authorization_url(request)

    oidc_clock.advance(timedelta(seconds=599))
    await fake_idp.authorization_url(request)
    assert fake_oidc.discovery_requests == 1
    oidc_clock.advance(timedelta(seconds=2))
    await fake_idp.authorization_url(request)
    assert fake_oidc.discovery_requests == 2


async def test_a_key_rotated_in_is_found_by_one_refetch_before_the_cache_expires(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    await sign_in(fake_oidc, fake_idp)
    fake_oidc.rotate_key()

    await sign_in(fake_oidc, fake_idp)

    assert fake_oidc.jwks_requests == 2


async def test_unknown_key_ids_refetch_the_jwks_at_most_once_a_minute(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider, oidc_clock: FixedClock
) -> None:
    await sign_in(fake_oidc, fake_idp)
    fake_oidc.mode = Mode.UNKNOWN_KID  # a new kid every time

    for _ in range(3):
        with pytest.raises(ProviderRejected, match="does not publish"):
            await sign_in(fake_oidc, fake_idp)
    assert fake_oidc.jwks_requests == 2  # the first fetch, and one refetch

    oidc_clock.advance(timedelta(seconds=59))
    with pytest.raises(ProviderRejected):
        await sign_in(fake_oidc, fake_idp)
    assert fake_oidc.jwks_requests == 2

    oidc_clock.advance(timedelta(seconds=2))
    with pytest.raises(ProviderRejected):
        await sign_in(fake_oidc, fake_idp)
    assert fake_oidc.jwks_requests == 3


async def test_when_a_jwks_refetch_fails_the_cached_keys_serve_and_it_is_retried_a_minute_on(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider, oidc_clock: FixedClock
) -> None:
    fake_oidc.jwks_cache_control = "max-age=120"
    await sign_in(fake_oidc, fake_idp)
    fake_oidc.jwks_fails = True
    oidc_clock.advance(timedelta(seconds=121))

    await sign_in(fake_oidc, fake_idp)  # the refetch fails: the cached keys verify
    await sign_in(fake_oidc, fake_idp)
    assert fake_oidc.jwks_requests == 2

    oidc_clock.advance(timedelta(seconds=61))
    await sign_in(fake_oidc, fake_idp)
    assert fake_oidc.jwks_requests == 3

    fake_oidc.jwks_fails = False
    oidc_clock.advance(timedelta(seconds=61))
    await sign_in(fake_oidc, fake_idp)
    await sign_in(fake_oidc, fake_idp)
    assert fake_oidc.jwks_requests == 4  # a good copy again, kept its 120 s


async def test_a_jwks_that_cannot_be_had_at_all_is_unavailable(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    fake_oidc.jwks_fails = True

    with pytest.raises(ProviderUnavailable, match="JWKS answered 503"):
        await sign_in(fake_oidc, fake_idp)


async def test_a_discovery_document_naming_another_issuer_is_not_used(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    fake_oidc.advertised_issuer = f"{fake_oidc.issuer}/"

    with pytest.raises(ProviderUnavailable, match="issuer"):
        await fake_idp.authorization_url(AuthorizationRequest("s", "n", "c", REDIRECT_URI))


async def test_a_provider_advertising_no_asymmetric_algorithm_is_not_used(
    fake_oidc: FakeOidcProvider, fake_idp: IdentityProvider
) -> None:
    fake_oidc.signing_algs = ["HS256", "none"]

    with pytest.raises(ProviderUnavailable, match="signs ID tokens with none of"):
        await fake_idp.authorization_url(AuthorizationRequest("s", "n", "c", REDIRECT_URI))
