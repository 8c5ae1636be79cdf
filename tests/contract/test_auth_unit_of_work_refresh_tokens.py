"""The AuthUnitOfWork contract (tests/contract/auth_helpers.py), refresh tokens: found by their
hash, and a rotation (the retired token, its child, the session's generation) kept only on commit.
"""

from __future__ import annotations

import uuid

from tests.contract.auth_helpers import (
    IDLE,
    LATER,
    Side,
    a_hash,
    a_refresh_token,
    a_session,
    side_fixture,  # noqa: F401 - the fixture "side": each test runs against both sides
)
from tests.support.builders import T0


async def test_a_committed_refresh_token_is_found_by_its_hash(side: Side) -> None:
    session = a_session(uuid.uuid4())
    token = a_refresh_token(session)
    async with side.uow() as tx:
        await tx.sessions.add(session)  # first: the token references it
        await tx.refresh_tokens.add(token)
        await tx.commit()

    async with side.uow() as tx:
        found = await tx.refresh_tokens.get(token.token_hash)
        unknown = await tx.refresh_tokens.get(a_hash())

    assert found is not None
    assert (found.token_hash, found.session_id, found.generation, found.created_at) == (
        token.token_hash,
        session.id,
        0,
        T0,
    )
    assert found.rotated_at is None
    assert unknown is None


async def test_a_committed_rotation_keeps_the_retired_token_its_child_and_the_session(
    side: Side,
) -> None:
    """What a refresh does: lock the session, read the token again, rotate, commit."""
    session = a_session(uuid.uuid4())
    parent = a_refresh_token(session)
    async with side.uow() as tx:
        await tx.sessions.add(session)
        await tx.refresh_tokens.add(parent)
        await tx.commit()
    child_hash = a_hash()

    async with side.uow() as tx:
        locked = await tx.sessions.get(session.id, for_update=True)
        token = await tx.refresh_tokens.get(parent.token_hash)
        assert locked is not None
        assert token is not None
        await tx.refresh_tokens.add(locked.rotate(token, child_hash, LATER, IDLE))
        await tx.commit()

    async with side.uow() as tx:
        retired = await tx.refresh_tokens.get(parent.token_hash)
        child = await tx.refresh_tokens.get(child_hash)
        rotated = await tx.sessions.get(session.id)
    assert retired is not None
    assert retired.rotated_at == LATER
    assert child is not None
    assert (child.session_id, child.generation, child.created_at, child.rotated_at) == (
        session.id,
        1,
        LATER,
        None,
    )
    assert rotated is not None
    assert (rotated.generation, rotated.last_used_at) == (1, LATER)


async def test_a_rotation_without_commit_leaves_the_token_live(side: Side) -> None:
    session = a_session(uuid.uuid4())
    parent = a_refresh_token(session)
    async with side.uow() as tx:
        await tx.sessions.add(session)
        await tx.refresh_tokens.add(parent)
        await tx.commit()
    child_hash = a_hash()

    async with side.uow() as tx:
        locked = await tx.sessions.get(session.id, for_update=True)
        token = await tx.refresh_tokens.get(parent.token_hash)
        assert locked is not None
        assert token is not None
        await tx.refresh_tokens.add(locked.rotate(token, child_hash, LATER, IDLE))
        # no commit: a disabled account's refresh is refused before the token is spent

    async with side.uow() as tx:
        again = await tx.refresh_tokens.get(parent.token_hash)
        child = await tx.refresh_tokens.get(child_hash)
        unchanged = await tx.sessions.get(session.id)
    assert again is not None
    assert again.rotated_at is None
    assert child is None
    assert unchanged is not None
    assert unchanged.generation == 0
