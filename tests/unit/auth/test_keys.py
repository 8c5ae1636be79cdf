"""Signing-key rotation: one signer, new keys published before they sign, old ones retired
once their tokens have expired, and every process picking changes up without a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jwt
import pytest

from gatehouse.modules.auth.adapters.jwt_tokens import JwtAccessTokens
from gatehouse.modules.auth.adapters.keys import (
    KeyConfigurationError,
    KeyRingSource,
    RotationPolicy,
    generate_key,
    load_key_ring,
    read_keys,
    retire_keys,
    thumbprint,
)
from gatehouse.modules.auth.domain.errors import InvalidAccessToken
from tests.support.clock import FixedClock
from tests.unit.auth.test_jwt_tokens import AUDIENCE, ISSUER, POLICY, _claims, key_source


def _codec(directory: Path, clock: FixedClock) -> JwtAccessTokens:
    return JwtAccessTokens(
        key_source(directory, clock, reload_seconds=0), issuer=ISSUER, audience=AUDIENCE
    )


def _kid(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def _published(codec: JwtAccessTokens) -> set[str]:
    return {key["kid"] for key in codec.jwks()["keys"]}


def test_the_first_key_signs_at_once(tmp_path: Path) -> None:
    clock = FixedClock()
    codec = _codec(tmp_path, clock)
    [key] = read_keys(tmp_path)
    assert _kid(codec.issue(_claims())) == key.kid
    assert _published(codec) == {key.kid}


def test_a_new_key_is_published_first_and_signs_after_the_activation_delay(
    tmp_path: Path,
) -> None:
    clock = FixedClock()
    codec = _codec(tmp_path, clock)
    old_token = codec.issue(_claims())
    old_kid = _kid(old_token)

    clock.advance(timedelta(hours=1))
    generate_key(tmp_path, clock.now())
    [_, new] = read_keys(tmp_path)

    # Published at once (so every verifier knows it), not yet signing.
    assert _published(codec) == {old_kid, new.kid}
    assert _kid(codec.issue(_claims())) == old_kid

    clock.advance(POLICY.activation_delay)
    new_token = codec.issue(_claims())
    assert _kid(new_token) == new.kid
    assert codec.verify(old_token).subject  # the old key still verifies its tokens
    assert codec.verify(new_token).subject


def test_keys_are_retired_only_once_their_successor_has_signed_for_a_token_lifetime(
    tmp_path: Path,
) -> None:
    clock = FixedClock()
    codec = _codec(tmp_path, clock)
    [first] = read_keys(tmp_path)
    clock.advance(timedelta(hours=1))
    generate_key(tmp_path, clock.now())
    clock.advance(POLICY.activation_delay - timedelta(seconds=1))
    last_old_token = codec.issue(_claims())
    assert _kid(last_old_token) == first.kid  # the last moment the first key signs

    # Until the successor signs, plus one token lifetime, the first key's tokens may be valid.
    clock.advance(POLICY.token_lifetime)
    assert retire_keys(tmp_path, POLICY, clock.now()) == []
    assert codec.verify(last_old_token)

    clock.advance(timedelta(seconds=1))
    [retired] = retire_keys(tmp_path, POLICY, clock.now())

    assert retired == tmp_path / "retired" / first.path.name
    assert retired.stat().st_mode & 0o777 == 0o600
    assert first.kid not in _published(codec)  # dropped on the next reload
    with pytest.raises(InvalidAccessToken):
        codec.verify(last_old_token)


def test_the_signer_and_a_pending_key_are_never_retired(tmp_path: Path) -> None:
    clock = FixedClock()
    _codec(tmp_path, clock)
    clock.advance(timedelta(days=30))
    generate_key(tmp_path, clock.now())  # pending: the first key still signs
    assert retire_keys(tmp_path, POLICY, clock.now() + POLICY.activation_delay / 2) == []
    assert len(read_keys(tmp_path)) == 2


def test_a_broken_key_file_keeps_the_ring_already_loaded(tmp_path: Path) -> None:
    clock = FixedClock()
    codec = _codec(tmp_path, clock)
    token = codec.issue(_claims())
    (tmp_path / "half-copied.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\n")
    assert codec.verify(token).subject
    assert len(_published(codec)) == 1


def test_without_a_reload_a_process_keeps_its_ring(tmp_path: Path) -> None:
    clock = FixedClock()
    source = key_source(tmp_path, clock, reload_seconds=3600)
    before = source.current()
    generate_key(tmp_path, clock.now())
    assert source.current() is before


def test_missing_keys_outside_dev_refuse_to_start(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigurationError, match="no signing key"):
        load_key_ring(
            tmp_path / "empty", create_if_missing=False, policy=POLICY, now=FixedClock().now()
        )


def test_key_files_are_private_and_kid_is_the_rfc7638_thumbprint(tmp_path: Path) -> None:
    path = generate_key(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    [key] = read_keys(tmp_path)
    assert key.kid == thumbprint(key.public_key)
    assert len(key.kid) == 43
    assert key.path == path


@pytest.mark.parametrize(("reload_seconds", "cache_seconds"), [(60, 60), (1, 1), (0, 0)])
def test_the_jwks_may_be_cached_only_until_a_key_it_lacks_could_sign(
    tmp_path: Path, reload_seconds: int, cache_seconds: int
) -> None:
    """A new key reaches every process's JWKS within one reload and signs after two (ADR 0014):
    a copy fetched just before it appeared must be gone by then."""
    policy = RotationPolicy(
        activation_delay=timedelta(seconds=2 * reload_seconds), token_lifetime=timedelta(0)
    )
    source = KeyRingSource(
        tmp_path,
        create_if_missing=True,
        policy=policy,
        clock=FixedClock(),
        reload_seconds=reload_seconds,
    )
    assert source.cache_seconds() == cache_seconds
    assert source.cache_seconds() + reload_seconds <= policy.activation_delay.total_seconds()


def test_the_jwks_cache_time_is_never_negative(tmp_path: Path) -> None:
    source = key_source(tmp_path, FixedClock(), reload_seconds=3600)  # longer than the delay
    assert source.cache_seconds() == 0
