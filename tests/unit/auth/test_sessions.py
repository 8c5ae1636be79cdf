from __future__ import annotations

import uuid

import pytest

from gatehouse.modules.auth.application.sessions import (
    EndAllSessions,
    EndSession,
    ListSessions,
    Logout,
)
from gatehouse.modules.auth.application.signing_in import Login, TokenPair
from gatehouse.modules.auth.domain.errors import SessionNotFound
from gatehouse.shared.principal import Principal
from tests.unit.auth.conftest import USER_ID, Parts


def principal(pair: TokenPair, user_id: uuid.UUID = USER_ID) -> Principal:
    return Principal(user_id, uuid.UUID(pair.session_id), ("user",), ("pwd",), "jti")


async def _logins(parts: Parts, count: int) -> list[TokenPair]:
    return [await parts.sign_in(Login("ada@example.com", "right password")) for _ in range(count)]


async def test_sessions_page_newest_first_and_mark_the_current_one(parts: Parts) -> None:
    pairs = await _logins(parts, 3)
    handler = parts.auth.list_sessions()
    first = await handler(ListSessions(principal(pairs[0]), limit=2))
    assert [str(s.id) for s in first.items] == [pairs[2].session_id, pairs[1].session_id]
    assert first.next_before is not None
    rest = await handler(ListSessions(principal(pairs[0]), limit=2, before=first.next_before))
    assert [(str(s.id), s.current) for s in rest.items] == [(pairs[0].session_id, True)]
    assert rest.next_before is None


async def test_ending_a_session_revokes_it_and_tells_the_denylist(parts: Parts) -> None:
    [pair] = await _logins(parts, 1)
    revocations = parts.revocations
    await parts.auth.end_session()(
        EndSession(principal(pair), uuid.UUID(pair.session_id), "logout")
    )
    [session] = parts.uow.sessions_by_id.values()
    assert session.revoked_at == parts.clock.now()
    assert session.revoke_reason == "logout"
    assert revocations.told == [session.id]


async def test_another_users_session_cannot_be_ended(parts: Parts) -> None:
    [pair] = await _logins(parts, 1)
    intruder = principal(pair, user_id=uuid.uuid4())
    with pytest.raises(SessionNotFound):
        await parts.auth.end_session()(EndSession(intruder, uuid.UUID(pair.session_id), "x"))
    assert all(s.revoked_at is None for s in parts.uow.sessions_by_id.values())


async def test_logout_with_a_refresh_token_ends_both_sessions(parts: Parts) -> None:
    laptop, phone = await _logins(parts, 2)
    revocations = parts.revocations
    await parts.auth.logout()(Logout(principal(laptop), phone.refresh_token))
    assert {str(s) for s in revocations.told} == {laptop.session_id, phone.session_id}


async def test_end_all_revokes_every_active_session(parts: Parts) -> None:
    await _logins(parts, 3)
    revocations = parts.revocations
    await parts.auth.end_all_sessions()(EndAllSessions(USER_ID, "logout_all"))
    assert len(revocations.told) == 3
    assert all(s.revoke_reason == "logout_all" for s in parts.uow.sessions_by_id.values())
