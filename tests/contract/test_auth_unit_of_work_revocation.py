"""The AuthUnitOfWork contract (tests/contract/auth_helpers.py), ending sessions: ``revoke_all``
ends every live session of a user but the one kept, returns them once, and only on commit.
"""

from __future__ import annotations

import uuid

from tests.contract.auth_helpers import (
    LATER,
    Side,
    a_session,
    active_ids,
    add_sessions,
    side_fixture,  # noqa: F401 - the fixture "side": each test runs against both sides
)
from tests.support.builders import T0


async def test_revoke_all_ends_every_live_session_of_the_user_but_keep_and_returns_them(
    side: Side,
) -> None:
    user_id = uuid.uuid4()
    kept, ended_a, ended_b = (a_session(user_id) for _ in range(3))
    earlier = a_session(user_id)
    earlier.revoke(T0, "logout")
    other = a_session(uuid.uuid4())
    await add_sessions(side, kept, ended_a, ended_b, earlier, other)

    async with side.uow() as tx:
        ended = await tx.sessions.revoke_all(user_id, LATER, "password_changed", keep=kept.id)
        await tx.commit()

    assert sorted(ended) == sorted([ended_a.id, ended_b.id])
    async with side.uow() as tx:
        states = {
            s.id: (found.revoked_at, found.revoke_reason)
            for s in (kept, ended_a, ended_b, earlier, other)
            if (found := await tx.sessions.get(s.id)) is not None
        }
    assert states == {
        kept.id: (None, None),
        ended_a.id: (LATER, "password_changed"),
        ended_b.id: (LATER, "password_changed"),
        earlier.id: (T0, "logout"),  # ended before: its time and reason stay
        other.id: (None, None),
    }
    assert await active_ids(side, user_id) == [kept.id]


async def test_revoke_all_without_keep_ends_them_all_and_again_ends_none(side: Side) -> None:
    user_id = uuid.uuid4()
    sessions = [a_session(user_id) for _ in range(2)]
    await add_sessions(side, *sessions)

    async with side.uow() as tx:
        first = await tx.sessions.revoke_all(user_id, LATER, "account_deleted")
        again = await tx.sessions.revoke_all(user_id, LATER, "account_deleted")
        await tx.commit()

    assert sorted(first) == sorted(s.id for s in sessions)
    assert again == []
    assert await active_ids(side, user_id) == []


async def test_revoke_all_is_kept_only_on_commit(side: Side) -> None:
    user_id = uuid.uuid4()
    session = a_session(user_id)
    await add_sessions(side, session)

    async with side.uow() as tx:
        assert await tx.sessions.revoke_all(user_id, LATER, "abandoned") == [session.id]
        # no commit

    assert await active_ids(side, user_id) == [session.id]
