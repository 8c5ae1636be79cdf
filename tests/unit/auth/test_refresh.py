"""Refresh-token rotation with reuse detection, through fakes and an injected clock."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from gatehouse.modules.auth.application.refresh import RefreshSession, RefreshSessionHandler
from gatehouse.modules.auth.application.signing_in import Login, TokenPair
from gatehouse.modules.auth.domain.errors import (
    CsrfFailed,
    RefreshTokenInvalid,
    RefreshTokenReused,
)
from tests.unit.auth.conftest import POLICY, TOKENS, Parts


def _refresh(parts: Parts) -> RefreshSessionHandler:
    return parts.auth.refresh()


async def _login(parts: Parts) -> TokenPair:
    return await parts.sign_in(Login("ada@example.com", "right password"))


def _live_tokens(parts: Parts) -> list[bytes]:
    [session] = parts.uow.sessions_by_id.values()
    return [
        t.token_hash
        for t in parts.uow.committed.refresh_tokens.values()
        if t.generation == session.generation and t.rotated_at is None
    ]


async def test_refresh_rotates_to_a_new_token_and_a_new_access_token(parts: Parts) -> None:
    first = await _login(parts)
    parts.clock.advance(timedelta(minutes=5))

    second = await _refresh(parts)(RefreshSession(first.refresh_token))

    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert second.session_id == first.session_id
    assert _live_tokens(parts) == [TOKENS.hash(second.refresh_token)]
    [session] = parts.uow.sessions_by_id.values()
    assert session.generation == 1
    assert session.last_used_at == parts.clock.now()
    assert session.idle_expires_at == parts.clock.now() + POLICY.idle_ttl


async def test_replaying_the_parent_within_the_grace_interval_returns_the_same_child(
    parts: Parts,
) -> None:
    first = await _login(parts)
    child = await _refresh(parts)(RefreshSession(first.refresh_token))
    parts.clock.advance(POLICY.reuse_grace)

    again = await _refresh(parts)(RefreshSession(first.refresh_token))

    assert again.refresh_token == child.refresh_token
    assert _live_tokens(parts) == [TOKENS.hash(child.refresh_token)]
    assert (await _refresh(parts)(RefreshSession(child.refresh_token))).refresh_token


async def test_replaying_the_parent_after_the_grace_interval_revokes_the_session(
    parts: Parts,
) -> None:
    first = await _login(parts)
    child = await _refresh(parts)(RefreshSession(first.refresh_token))
    parts.clock.advance(POLICY.reuse_grace + timedelta(seconds=1))

    with pytest.raises(RefreshTokenReused):
        await _refresh(parts)(RefreshSession(first.refresh_token, ip="198.51.100.4"))

    [session] = parts.uow.sessions_by_id.values()
    assert session.revoked_at == parts.clock.now()
    assert session.revoke_reason == "refresh_token_reuse"
    assert parts.revocations.told == [session.id]  # its access tokens are refused at once
    reused = parts.uow.events[-1]
    assert (reused.type, reused.session_id, reused.ip) == (
        "auth.refresh_token_reused",
        session.id,
        "198.51.100.4",
    )
    with pytest.raises(RefreshTokenInvalid):  # the newest token dies with the session
        await _refresh(parts)(RefreshSession(child.refresh_token))


async def test_a_grandparent_is_reuse_even_within_the_grace_interval(parts: Parts) -> None:
    first = await _login(parts)
    child = await _refresh(parts)(RefreshSession(first.refresh_token))
    await _refresh(parts)(RefreshSession(child.refresh_token))
    with pytest.raises(RefreshTokenReused):
        await _refresh(parts)(RefreshSession(first.refresh_token))


@pytest.mark.parametrize("token", ["", "unknown-token", "x" * 257, "é" * 10])
async def test_unknown_or_malformed_tokens_are_refused(parts: Parts, token: str) -> None:
    await _login(parts)
    with pytest.raises(RefreshTokenInvalid):
        await _refresh(parts)(RefreshSession(token))


async def test_an_idle_session_expires(parts: Parts) -> None:
    first = await _login(parts)
    parts.clock.advance(POLICY.idle_ttl)
    with pytest.raises(RefreshTokenInvalid):
        await _refresh(parts)(RefreshSession(first.refresh_token))


async def test_use_keeps_a_session_alive_but_never_past_its_absolute_lifetime(
    parts: Parts,
) -> None:
    token = (await _login(parts)).refresh_token
    for _ in range(4):  # 4 x 6 days of regular use: never idle for 7 days
        parts.clock.advance(timedelta(days=6))
        token = (await _refresh(parts)(RefreshSession(token))).refresh_token
    parts.clock.advance(timedelta(days=6))  # day 30: the absolute limit
    with pytest.raises(RefreshTokenInvalid):
        await _refresh(parts)(RefreshSession(token))


async def test_a_disabled_account_cannot_refresh(parts: Parts) -> None:
    first = await _login(parts)
    parts.directory.active = False
    with pytest.raises(RefreshTokenInvalid):
        await _refresh(parts)(RefreshSession(first.refresh_token))


async def test_a_disabled_accounts_refresh_is_refused_before_the_token_is_spent(
    parts: Parts,
) -> None:
    first = await _login(parts)
    parts.directory.active = False
    with pytest.raises(RefreshTokenInvalid):
        await _refresh(parts)(RefreshSession(first.refresh_token))
    assert _live_tokens(parts) == [TOKENS.hash(first.refresh_token)]  # rolled back, unspent
    parts.directory.active = True  # enabled again: the same token still works, once
    second = await _refresh(parts)(RefreshSession(first.refresh_token))
    assert _live_tokens(parts) == [TOKENS.hash(second.refresh_token)]


def test_children_are_derived_with_the_key_and_are_stable() -> None:
    other = type(TOKENS)(b"o" * 32)
    assert TOKENS.child_of("parent") == TOKENS.child_of("parent")
    assert TOKENS.child_of("parent") != other.child_of("parent")
    assert len(TOKENS.child_of("parent")) == 43


async def test_cookie_mode_refresh_needs_this_sessions_csrf_token(parts: Parts) -> None:
    first = await _login(parts)
    other = await _login(parts)
    with pytest.raises(CsrfFailed):
        await _refresh(parts)(RefreshSession(first.refresh_token, csrf_token=other.csrf_token))
    assert _live_tokens_of(parts, first) == [TOKENS.hash(first.refresh_token)]  # not spent
    rotated = await _refresh(parts)(
        RefreshSession(first.refresh_token, csrf_token=first.csrf_token)
    )
    assert rotated.csrf_token == first.csrf_token  # bound to the session, not to the token


def _live_tokens_of(parts: Parts, pair: TokenPair) -> list[bytes]:
    session = parts.uow.sessions_by_id[uuid.UUID(pair.session_id)]
    return [
        t.token_hash
        for t in parts.uow.committed.refresh_tokens.values()
        if t.session_id == session.id and t.generation == session.generation
    ]
